// The one place that maps Hugging Face tensor names onto our canonical names, per family, with
// the transforms each needs (GPT-2's Conv1D weights are stored (in, out); c_attn fuses q|k|v
// along out). Pure data and index arithmetic: no file access, no config.json parsing.

import { type ModelConfig, kvDim } from '../model/config.js';

/**
 * copy: same layout. transpose: HF (in, out) -> ours (out, in).
 * split3: HF (3C) -> three (C) (q|k|v biases). split3Transpose: HF (C, 3C) -> three (C, C) (out, in).
 */
export type NameOp = 'copy' | 'transpose' | 'split3' | 'split3Transpose';

export interface NameRule {
  /** Hugging Face tensor name (GPT-2 names without the optional 'transformer.' prefix). */
  hf: string;
  /** Our canonical name(s): one, or q/k/v for a fused tensor. */
  ours: string[];
  /** Shape of the HF tensor that the config implies. */
  hfShape: number[];
  op: NameOp;
}

/** Tensors a HF checkpoint may carry that hold no parameters (causal-mask and rotary buffers). */
export const IGNORED_HF_TENSORS = [/\.attn\.bias$/, /\.attn\.masked_bias$/, /\.rotary_emb\.inv_freq$/];

function llamaRules(c: ModelConfig): NameRule[] {
  const C = c.dim, H = c.hiddenDim, q = c.dim, kv = kvDim(c);
  const rules: NameRule[] = [{ hf: 'model.embed_tokens.weight', ours: ['tok_embeddings'], hfShape: [c.vocabSize, C], op: 'copy' }];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `model.layers.${l}.`, o = `layers.${l}.`;
    rules.push(
      { hf: `${p}input_layernorm.weight`, ours: [`${o}attn_norm`], hfShape: [C], op: 'copy' },
      { hf: `${p}self_attn.q_proj.weight`, ours: [`${o}wq`], hfShape: [q, C], op: 'copy' },
      { hf: `${p}self_attn.k_proj.weight`, ours: [`${o}wk`], hfShape: [kv, C], op: 'copy' },
      { hf: `${p}self_attn.v_proj.weight`, ours: [`${o}wv`], hfShape: [kv, C], op: 'copy' },
      { hf: `${p}self_attn.o_proj.weight`, ours: [`${o}wo`], hfShape: [C, q], op: 'copy' },
      { hf: `${p}post_attention_layernorm.weight`, ours: [`${o}ffn_norm`], hfShape: [C], op: 'copy' },
      { hf: `${p}mlp.gate_proj.weight`, ours: [`${o}w1`], hfShape: [H, C], op: 'copy' },
      { hf: `${p}mlp.down_proj.weight`, ours: [`${o}w2`], hfShape: [C, H], op: 'copy' },
      { hf: `${p}mlp.up_proj.weight`, ours: [`${o}w3`], hfShape: [H, C], op: 'copy' },
    );
    if (c.qkvBias) {
      rules.push(
        { hf: `${p}self_attn.q_proj.bias`, ours: [`${o}bq`], hfShape: [q], op: 'copy' },
        { hf: `${p}self_attn.k_proj.bias`, ours: [`${o}bk`], hfShape: [kv], op: 'copy' },
        { hf: `${p}self_attn.v_proj.bias`, ours: [`${o}bv`], hfShape: [kv], op: 'copy' },
      );
    }
  }
  rules.push({ hf: 'model.norm.weight', ours: ['norm'], hfShape: [C], op: 'copy' });
  if (!c.tiedEmbeddings) rules.push({ hf: 'lm_head.weight', ours: ['output'], hfShape: [c.vocabSize, C], op: 'copy' });
  return rules;
}

function gpt2Rules(c: ModelConfig): NameRule[] {
  const C = c.dim, H = c.hiddenDim;
  const rules: NameRule[] = [
    { hf: 'wte.weight', ours: ['wte'], hfShape: [c.vocabSize, C], op: 'copy' },
    { hf: 'wpe.weight', ours: ['wpe'], hfShape: [c.maxSeqLen, C], op: 'copy' },
  ];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `h.${l}.`, o = `layers.${l}.`;
    rules.push(
      { hf: `${p}ln_1.weight`, ours: [`${o}ln1_w`], hfShape: [C], op: 'copy' },
      { hf: `${p}ln_1.bias`, ours: [`${o}ln1_b`], hfShape: [C], op: 'copy' },
      { hf: `${p}attn.c_attn.weight`, ours: [`${o}wq`, `${o}wk`, `${o}wv`], hfShape: [C, 3 * C], op: 'split3Transpose' },
      { hf: `${p}attn.c_attn.bias`, ours: [`${o}bq`, `${o}bk`, `${o}bv`], hfShape: [3 * C], op: 'split3' },
      { hf: `${p}attn.c_proj.weight`, ours: [`${o}wo`], hfShape: [C, C], op: 'transpose' },
      { hf: `${p}attn.c_proj.bias`, ours: [`${o}bo`], hfShape: [C], op: 'copy' },
      { hf: `${p}ln_2.weight`, ours: [`${o}ln2_w`], hfShape: [C], op: 'copy' },
      { hf: `${p}ln_2.bias`, ours: [`${o}ln2_b`], hfShape: [C], op: 'copy' },
      { hf: `${p}mlp.c_fc.weight`, ours: [`${o}fc_w`], hfShape: [C, H], op: 'transpose' },
      { hf: `${p}mlp.c_fc.bias`, ours: [`${o}fc_b`], hfShape: [H], op: 'copy' },
      { hf: `${p}mlp.c_proj.weight`, ours: [`${o}proj_w`], hfShape: [H, C], op: 'transpose' },
      { hf: `${p}mlp.c_proj.bias`, ours: [`${o}proj_b`], hfShape: [C], op: 'copy' },
    );
  }
  rules.push(
    { hf: 'ln_f.weight', ours: ['lnf_w'], hfShape: [C], op: 'copy' },
    { hf: 'ln_f.bias', ours: ['lnf_b'], hfShape: [C], op: 'copy' },
  );
  if (!c.tiedEmbeddings) rules.push({ hf: 'lm_head.weight', ours: ['output'], hfShape: [c.vocabSize, C], op: 'copy' });
  return rules;
}

/** Every HF tensor of a model of this config, in a stable order. */
export function hfNameRules(c: ModelConfig): NameRule[] {
  return c.family === 'llama' ? llamaRules(c) : gpt2Rules(c);
}

/** Copies one HF tensor `src` (shape rule.hfShape) into our tensors `dst` (one per rule.ours). */
export function hfToOurs(rule: NameRule, src: Float32Array, dst: Float32Array[]): void {
  if (rule.op === 'copy') { dst[0].set(src); return; }
  if (rule.op === 'split3') {
    const n = src.length / 3;
    for (let k = 0; k < 3; k++) dst[k].set(src.subarray(k * n, (k + 1) * n));
    return;
  }
  // transpose / split3Transpose: src (IN, P*OUT) -> dst[k] (OUT, IN)
  const [IN, cols] = rule.hfShape;
  const P = rule.ours.length, OUT = cols / P;
  for (let k = 0; k < P; k++) {
    const d = dst[k];
    for (let i = 0; i < IN; i++) for (let o = 0; o < OUT; o++) d[o * IN + i] = src[i * cols + k * OUT + o];
  }
}

/** The inverse of hfToOurs: our tensors `src` -> one HF tensor (shape rule.hfShape). */
export function oursToHf(rule: NameRule, src: Float32Array[]): Float32Array {
  const out = new Float32Array(rule.hfShape.reduce((a, b) => a * b, 1));
  if (rule.op === 'copy') { out.set(src[0]); return out; }
  if (rule.op === 'split3') {
    const n = out.length / 3;
    for (let k = 0; k < 3; k++) out.set(src[k], k * n);
    return out;
  }
  const [IN, cols] = rule.hfShape;
  const P = rule.ours.length, OUT = cols / P;
  for (let k = 0; k < P; k++) {
    const s = src[k];
    for (let i = 0; i < IN; i++) for (let o = 0; o < OUT; o++) out[i * cols + k * OUT + o] = s[o * IN + i];
  }
  return out;
}

/**
 * Reorders the rows of a q or k projection (heads x HS rows) from llama2.c's interleaved rotary
 * pairs (2i, 2i+1) to HF's half split (i, i+HS/2), as HF's convert_llama_weights permute does;
 * `inverse` goes back (as llama.cpp's convert_hf_to_gguf permute does).
 * Works on weights (rows x cols) and biases (cols = 1).
 */
export function interleavedToHalfRows(w: Float32Array, heads: number, hs: number, cols: number, inverse = false): Float32Array {
  const out = new Float32Array(w.length);
  const half = hs / 2;
  for (let h = 0; h < heads; h++) {
    for (let p = 0; p < 2; p++) {
      for (let i = 0; i < half; i++) {
        const a = (h * hs + 2 * i + p) * cols, b = (h * hs + p * half + i) * cols;
        const [from, to] = inverse ? [b, a] : [a, b];
        out.set(w.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}

export const halfToInterleavedRows = (w: Float32Array, heads: number, hs: number, cols: number): Float32Array => interleavedToHalfRows(w, heads, hs, cols, true);
