// The one parameter-layout table: every tensor of a model, its shape and its offset into the
// single Float32Array that holds all parameters (and, with the same offsets, the gradients and
// the optimizer moments). File formats name tensors from here (src/io/ keeps the name maps).
// Order: tensors of a kind stacked over layers (llama2.c's order), so a llama2.c file maps on
// in a few contiguous runs. Linear weights are (out, in), as in PyTorch's nn.Linear.

import { type ModelConfig, headSize, kvDim } from './config.js';

export interface ParamEntry {
  /** Canonical name, e.g. 'tok_embeddings', 'layers.3.wq', 'norm'. */
  name: string;
  shape: number[];
  offset: number;
  size: number;
  /** Layer index, or -1 for tensors outside the blocks. */
  layer: number;
  /** Matrices (linear weights, embeddings) get weight decay; norms and biases do not. */
  decay: boolean;
}

export interface ParamLayout {
  entries: ParamEntry[];
  byName: Map<string, ParamEntry>;
  /** Total parameter count (length of the params Float32Array). */
  total: number;
}

type Spec = [name: string, shape: number[], decay: boolean];

function llamaSpecs(c: ModelConfig): Spec[][] {
  const C = c.dim, H = c.hiddenDim, q = headSize(c) * c.nHeads, kv = kvDim(c);
  const perLayer: Spec[] = [
    ['attn_norm', [C], false],
    ['wq', [q, C], true],
    ['wk', [kv, C], true],
    ['wv', [kv, C], true],
    ...(c.qkvBias ? ([['bq', [q], false], ['bk', [kv], false], ['bv', [kv], false]] as Spec[]) : []),
    ['wo', [C, q], true],
    ['ffn_norm', [C], false],
    ['w1', [H, C], true], // gate
    ['w2', [C, H], true], // down
    ['w3', [H, C], true], // up
  ];
  const head: Spec[] = [['norm', [C], false]];
  if (!c.tiedEmbeddings) head.push(['output', [c.vocabSize, C], true]);
  return [[['tok_embeddings', [c.vocabSize, C], true]], perLayer, head];
}

function gpt2Specs(c: ModelConfig): Spec[][] {
  const C = c.dim, H = c.hiddenDim;
  const perLayer: Spec[] = [
    ['ln1_w', [C], false], ['ln1_b', [C], false],
    ['wq', [C, C], true], ['wk', [C, C], true], ['wv', [C, C], true],
    ['bq', [C], false], ['bk', [C], false], ['bv', [C], false],
    ['wo', [C, C], true], ['bo', [C], false],
    ['ln2_w', [C], false], ['ln2_b', [C], false],
    ['fc_w', [H, C], true], ['fc_b', [H], false],
    ['proj_w', [C, H], true], ['proj_b', [C], false],
  ];
  const head: Spec[] = [['lnf_w', [C], false], ['lnf_b', [C], false]];
  if (!c.tiedEmbeddings) head.push(['output', [c.vocabSize, C], true]);
  return [[['wte', [c.vocabSize, C], true], ['wpe', [c.maxSeqLen, C], true]], perLayer, head];
}

/** Block matrices of c.lowRank replaced by their factors: name_a (r, in) and name_b (out, r), W ≈ b·a. */
function factored(c: ModelConfig, specs: Spec[]): Spec[] {
  return specs.flatMap(([n, shape, d]): Spec[] => {
    const r = c.lowRank?.[n];
    return r ? [[`${n}_a`, [r, shape[1]], d], [`${n}_b`, [shape[0], r], d]] : [[n, shape, d]];
  });
}

function specsOf(c: ModelConfig): Spec[][] {
  const [pre, perLayer, post] = c.family === 'llama' ? llamaSpecs(c) : gpt2Specs(c);
  return [pre, factored(c, perLayer), post];
}

/** The parameter count of a config, by arithmetic (no layout built, nothing allocated): what readers
 *  check against a file's size before they allocate. */
export function countParams(c: ModelConfig): number {
  const [pre, perLayer, post] = specsOf(c);
  const sum = (specs: Spec[]) => specs.reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);
  return sum(pre) + c.nLayers * sum(perLayer) + sum(post);
}

/** Builds the layout of a config. Deterministic: same config, same offsets. */
export function buildLayout(c: ModelConfig): ParamLayout {
  const [pre, perLayer, post] = specsOf(c);
  const entries: ParamEntry[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], decay: boolean, layer: number) => {
    const size = shape.reduce((a, b) => a * b, 1);
    entries.push({ name, shape, offset, size, layer, decay });
    offset += size;
  };
  for (const [n, s, d] of pre) add(n, s, d, -1);
  for (const [n, s, d] of perLayer) for (let l = 0; l < c.nLayers; l++) add(`layers.${l}.${n}`, s, d, l);
  for (const [n, s, d] of post) add(n, s, d, -1);
  return { entries, byName: new Map(entries.map((e) => [e.name, e])), total: offset };
}

/** A view of one parameter inside `buf` (params, grads or a moment buffer). */
export function paramView(layout: ParamLayout, buf: Float32Array, name: string): Float32Array {
  const e = layout.byName.get(name);
  if (!e) throw new RangeError(`no parameter named '${name}' in this layout`);
  return buf.subarray(e.offset, e.offset + e.size);
}
