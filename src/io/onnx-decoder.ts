// The decoder of both families as an ONNX graph (opset 17 ops only), computing what
// src/model/forward.ts computes: inputs input_ids / attention_mask / position_ids (+ past keys and
// values), outputs logits (+ present keys and values), with transformers.js / optimum names.
// Weights become f32 initializers; matmul weights are stored transposed, (in, out), as optimum
// does. It does not encode or write the file (onnx-proto.ts, onnx-write.ts).

import { ropeTables } from '../engine/rope-tables.js';
import { type ModelConfig, headSize } from '../model/config.js';
import { buildLayout, paramView } from '../model/layout.js';
import { GraphBuilder } from './onnx-graph.js';
import { type Dim, type GraphData, DTYPE } from './onnx-proto.js';

/** Symbolic dimension names, as optimum's exports name them. */
export const DIMS = { batch: 'batch_size', seq: 'sequence_length', past: 'past_sequence_length', total: 'total_sequence_length' } as const;

/** Graph input and output names (transformers.js / optimum). */
export const pastKeyName = (l: number): string => `past_key_values.${l}.key`;
export const pastValueName = (l: number): string => `past_key_values.${l}.value`;
export const presentKeyName = (l: number): string => `present.${l}.key`;
export const presentValueName = (l: number): string => `present.${l}.value`;

/** f32's lowest value: masked scores become it, so a fully masked row gives a uniform softmax, not NaN. */
const MASKED = -3.4028234663852886e38;
// GELU's tanh approximation, as src/engine/ref/activations.ts computes it.
const GELU_S = Math.sqrt(2 / Math.PI), GELU_C = 0.044715;

function transposed(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
  return t;
}

/** Builds the whole graph. `config` must be valid and `params` its layout's length (onnx-write.ts checks). */
export function buildDecoderGraph(c: ModelConfig, params: Float32Array, kvCache: boolean): GraphData {
  const layout = buildLayout(c);
  const g = new GraphBuilder();
  const p = (n: string) => paramView(layout, params, n);
  const llama = c.family === 'llama';
  const C = c.dim, V = c.vocabSize, NH = c.nHeads, NKV = c.nKvHeads, HS = headSize(c), G = NH / NKV;
  const { batch, seq, past, total } = DIMS;

  const inputs: GraphData['inputs'][number][] = [
    { name: 'input_ids', dtype: DTYPE.INT64, dims: [batch, seq] },
    { name: 'attention_mask', dtype: DTYPE.INT64, dims: [batch, kvCache ? total : seq] },
    { name: 'position_ids', dtype: DTYPE.INT64, dims: [batch, seq] },
  ];
  const outputs: GraphData['outputs'][number][] = [{ name: 'logits', dtype: DTYPE.FLOAT, dims: [batch, seq, V] }];
  const kvDims = (len: Dim): Dim[] => [batch, NKV, len, HS];
  if (kvCache) {
    for (let l = 0; l < c.nLayers; l++) {
      inputs.push({ name: pastKeyName(l), dtype: DTYPE.FLOAT, dims: kvDims(past) }, { name: pastValueName(l), dtype: DTYPE.FLOAT, dims: kvDims(past) });
      outputs.push({ name: presentKeyName(l), dtype: DTYPE.FLOAT, dims: kvDims(total) }, { name: presentValueName(l), dtype: DTYPE.FLOAT, dims: kvDims(total) });
    }
  }

  /** x (B,T,I) · wᵀ (+ b): w is ours (O,I), stored transposed. */
  const linear = (x: string, w: string, b: string | null): string => {
    const [O, I] = layout.byName.get(w)!.shape;
    const y = g.op('MatMul', [x, g.weight(`${w}.T`, transposed(p(w), O, I), [I, O])]);
    return b ? g.op('Add', [y, g.weight(b, p(b), [O])]) : y;
  };
  const rmsNorm = (x: string, w: string): string => {
    const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const rstd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, g.f32(c.normEps)])])]);
    return g.op('Mul', [g.op('Mul', [x, rstd]), g.weight(w, p(w), [C])]);
  };
  const layerNorm = (x: string, w: string, b: string): string =>
    g.op('LayerNormalization', [x, g.weight(w, p(w), [C]), g.weight(b, p(b), [C])], { axis: -1, epsilon: { f: c.normEps } });
  const norm = (x: string, llamaW: string, gptW: string, gptB: string): string => (llama ? rmsNorm(x, llamaW) : layerNorm(x, gptW, gptB));

  // Embeddings (+ learned positions for GPT-2).
  g.scope = '/model/embed';
  const embedName = llama ? 'tok_embeddings' : 'wte';
  const embed = g.weight(embedName, p(embedName), [V, C]);
  let x = g.op('Gather', [embed, 'input_ids'], { axis: 0 });
  if (!llama) x = g.op('Add', [x, g.op('Gather', [g.weight('wpe', p('wpe'), [c.maxSeqLen, C]), 'position_ids'], { axis: 0 })]);

  // The mask, shared by every layer: query t (absolute position P + t, P = S - T) sees key j when
  // j <= P + t and attention_mask[b, j] != 0. allowed (B,1,1,T,S) matches scores (B,NKV,G,T,S).
  g.scope = '/model/mask';
  const dimOf = (t: string, axis: number): string => g.op('Gather', [g.op('Shape', [t]), g.int64(axis)], { axis: 0 });
  const T = dimOf('input_ids', 1), S = dimOf('attention_mask', 1);
  const queryPos = g.op('Unsqueeze', [g.op('Range', [g.op('Sub', [S, T]), S, g.int64(1)]), g.int64([1])]);
  const causal = g.op('LessOrEqual', [g.op('Range', [g.int64(0), S, g.int64(1)]), queryPos]);
  const padding = g.op('Unsqueeze', [g.op('Cast', ['attention_mask'], { to: DTYPE.BOOL }), g.int64([1, 2, 3])]);
  const allowed = g.op('And', [causal, padding]);

  // Rotary tables gathered by position_ids once, shaped to broadcast over (B,NH,T, pairs).
  // 'half' pairs (i, i + HS/2): x viewed as (B,NH,T,2,HS/2); 'interleaved' (2i, 2i+1): (B,NH,T,HS/2,2).
  const half = c.ropeMode === 'half', pairAxis = half ? 3 : 4;
  let cos = '', sin = '';
  if (llama) {
    g.scope = '/model/rotary';
    const tables = ropeTables(c.maxSeqLen, HS, c.ropeTheta);
    const gathered = (name: string, table: Float32Array) =>
      g.op('Unsqueeze', [g.op('Gather', [g.weight(name, table, [c.maxSeqLen, HS / 2]), 'position_ids'], { axis: 0 }), g.int64(half ? [1, 3] : [1, 4])]);
    cos = gathered('rope_cos', tables.cos);
    sin = gathered('rope_sin', tables.sin);
  }
  const rope = (x4: string): string => {
    const x5 = g.op('Reshape', [x4, g.int64(half ? [0, 0, 0, 2, HS / 2] : [0, 0, 0, HS / 2, 2])]);
    const [x0, x1] = g.node('Split', [x5], { axis: pairAxis }, 2);
    const y0 = g.op('Sub', [g.op('Mul', [x0, cos]), g.op('Mul', [x1, sin])]);
    const y1 = g.op('Add', [g.op('Mul', [x0, sin]), g.op('Mul', [x1, cos])]);
    return g.op('Reshape', [g.op('Concat', [y0, y1], { axis: pairAxis }), g.int64([0, 0, 0, HS])]);
  };
  /** (B,T,heads*HS) -> (B,heads,T,HS). */
  const splitHeads = (t: string, heads: number): string =>
    g.op('Transpose', [g.op('Reshape', [t, g.int64([0, 0, heads, HS])])], { perm: [0, 2, 1, 3] });

  for (let l = 0; l < c.nLayers; l++) {
    const n = (s: string) => `layers.${l}.${s}`;
    const bias = (s: string): string | null => (!llama || c.qkvBias ? n(s) : null);
    g.scope = `/model/layers.${l}/attn`;
    const h = norm(x, n('attn_norm'), n('ln1_w'), n('ln1_b'));
    let q = splitHeads(linear(h, n('wq'), bias('bq')), NH);
    let k = splitHeads(linear(h, n('wk'), bias('bk')), NKV);
    let v = splitHeads(linear(h, n('wv'), bias('bv')), NKV);
    if (llama) {
      q = rope(q);
      k = rope(k);
    }
    if (kvCache) {
      k = g.op('Concat', [pastKeyName(l), k], { axis: 2 }, presentKeyName(l));
      v = g.op('Concat', [pastValueName(l), v], { axis: 2 }, presentValueName(l));
    }
    // Grouped-query attention without copying kv heads: q (B,NKV,G,T,HS) against k, v (B,NKV,1,S,HS).
    const q5 = g.op('Reshape', [q, g.int64([0, NKV, G, -1, HS])]);
    const kT5 = g.op('Transpose', [g.op('Unsqueeze', [k, g.int64([2])])], { perm: [0, 1, 2, 4, 3] });
    const v5 = g.op('Unsqueeze', [v, g.int64([2])]);
    const scores = g.op('Mul', [g.op('MatMul', [q5, kT5]), g.f32(1 / Math.sqrt(HS))]);
    const probs = g.op('Softmax', [g.op('Where', [allowed, scores, g.f32(MASKED)])], { axis: -1 });
    const att4 = g.op('Reshape', [g.op('MatMul', [probs, v5]), g.int64([0, NH, -1, HS])]);
    const att = g.op('Reshape', [g.op('Transpose', [att4], { perm: [0, 2, 1, 3] }), g.int64([0, 0, NH * HS])]);
    x = g.op('Add', [x, linear(att, n('wo'), llama ? null : n('bo'))]);

    g.scope = `/model/layers.${l}/mlp`;
    const h2 = norm(x, n('ffn_norm'), n('ln2_w'), n('ln2_b'));
    let act: string;
    if (llama) {
      const gate = linear(h2, n('w1'), null);
      act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), linear(h2, n('w3'), null)]);
    } else {
      const u = linear(h2, n('fc_w'), n('fc_b'));
      const inner = g.op('Mul', [g.op('Add', [u, g.op('Mul', [g.op('Mul', [g.op('Mul', [u, u]), u]), g.f32(GELU_C)])]), g.f32(GELU_S)]);
      act = g.op('Mul', [g.op('Mul', [u, g.f32(0.5)]), g.op('Add', [g.op('Tanh', [inner]), g.f32(1)])]);
    }
    x = g.op('Add', [x, linear(act, n(llama ? 'w2' : 'proj_w'), llama ? null : n('proj_b'))]);
  }

  g.scope = '/model/head';
  const hf = norm(x, 'norm', 'lnf_w', 'lnf_b');
  const headT = c.tiedEmbeddings
    ? g.op('Transpose', [embed], { perm: [1, 0] }) // tied: the embedding stored once
    : g.weight('output.T', transposed(p('output'), V, C), [C, V]);
  g.op('MatMul', [hf, headT], {}, 'logits');

  return { name: `distill_${c.family}${kvCache ? '_with_past' : ''}`, nodes: g.nodes, initializers: g.initializers, inputs, outputs };
}
