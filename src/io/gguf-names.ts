// The one place that maps llama.cpp's GGUF tensor names onto our canonical names, per family:
// shapes in ggml order (dims[0] contiguous, so a PyTorch (out, in) weight is [in, out]) and the
// one transform GGUF needs (GPT-2's fused attn_qkv, rows q|k|v, split in three). Also the GGUF
// architectures we run and how each maps onto a family. Pure data: no file access.

import { type ModelConfig, kvDim } from '../model/config.js';
import type { RopeMode } from '../engine/backend.js';

/** copy: same layout. split3: one GGUF tensor -> three of ours (contiguous thirds: q, k, v). */
export type GgufNameOp = 'copy' | 'split3';

export interface GgufNameRule {
  gguf: string;
  ours: string[];
  /** ggml dims the config implies. */
  dims: number[];
  op: GgufNameOp;
}

export interface GgufArch {
  family: ModelConfig['family'];
  /**
   * llama.cpp's rotary for the arch: llama/mistral use "normal" (interleaved pairs; its converter
   * permutes HF q/k rows back to Meta's order), qwen2 NEOX (half split, rows not permuted).
   */
  ropeMode: RopeMode;
  /** q/k/v biases are always there (qwen2); llama may carry them optionally. */
  qkvBias: boolean;
  /** Metadata key of the norm epsilon. */
  epsKey: string;
}

export const GGUF_ARCHS: Record<string, GgufArch> = {
  llama: { family: 'llama', ropeMode: 'interleaved', qkvBias: false, epsKey: 'attention.layer_norm_rms_epsilon' },
  mistral: { family: 'llama', ropeMode: 'interleaved', qkvBias: false, epsKey: 'attention.layer_norm_rms_epsilon' },
  qwen2: { family: 'llama', ropeMode: 'half', qkvBias: true, epsKey: 'attention.layer_norm_rms_epsilon' },
  gpt2: { family: 'gpt2', ropeMode: 'half', qkvBias: true, epsKey: 'attention.layer_norm_epsilon' },
};

function llamaRules(c: ModelConfig): GgufNameRule[] {
  const C = c.dim, H = c.hiddenDim, kv = kvDim(c);
  const rules: GgufNameRule[] = [{ gguf: 'token_embd.weight', ours: ['tok_embeddings'], dims: [C, c.vocabSize], op: 'copy' }];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `blk.${l}.`, o = `layers.${l}.`;
    rules.push(
      { gguf: `${p}attn_norm.weight`, ours: [`${o}attn_norm`], dims: [C], op: 'copy' },
      { gguf: `${p}attn_q.weight`, ours: [`${o}wq`], dims: [C, C], op: 'copy' },
      { gguf: `${p}attn_k.weight`, ours: [`${o}wk`], dims: [C, kv], op: 'copy' },
      { gguf: `${p}attn_v.weight`, ours: [`${o}wv`], dims: [C, kv], op: 'copy' },
    );
    if (c.qkvBias) {
      rules.push(
        { gguf: `${p}attn_q.bias`, ours: [`${o}bq`], dims: [C], op: 'copy' },
        { gguf: `${p}attn_k.bias`, ours: [`${o}bk`], dims: [kv], op: 'copy' },
        { gguf: `${p}attn_v.bias`, ours: [`${o}bv`], dims: [kv], op: 'copy' },
      );
    }
    rules.push(
      { gguf: `${p}attn_output.weight`, ours: [`${o}wo`], dims: [C, C], op: 'copy' },
      { gguf: `${p}ffn_norm.weight`, ours: [`${o}ffn_norm`], dims: [C], op: 'copy' },
      { gguf: `${p}ffn_gate.weight`, ours: [`${o}w1`], dims: [C, H], op: 'copy' },
      { gguf: `${p}ffn_down.weight`, ours: [`${o}w2`], dims: [H, C], op: 'copy' },
      { gguf: `${p}ffn_up.weight`, ours: [`${o}w3`], dims: [C, H], op: 'copy' },
    );
  }
  rules.push({ gguf: 'output_norm.weight', ours: ['norm'], dims: [C], op: 'copy' });
  if (!c.tiedEmbeddings) rules.push({ gguf: 'output.weight', ours: ['output'], dims: [C, c.vocabSize], op: 'copy' });
  return rules;
}

function gpt2Rules(c: ModelConfig): GgufNameRule[] {
  const C = c.dim, H = c.hiddenDim;
  const rules: GgufNameRule[] = [
    { gguf: 'token_embd.weight', ours: ['wte'], dims: [C, c.vocabSize], op: 'copy' },
    { gguf: 'position_embd.weight', ours: ['wpe'], dims: [C, c.maxSeqLen], op: 'copy' },
  ];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `blk.${l}.`, o = `layers.${l}.`;
    rules.push(
      { gguf: `${p}attn_norm.weight`, ours: [`${o}ln1_w`], dims: [C], op: 'copy' },
      { gguf: `${p}attn_norm.bias`, ours: [`${o}ln1_b`], dims: [C], op: 'copy' },
      { gguf: `${p}attn_qkv.weight`, ours: [`${o}wq`, `${o}wk`, `${o}wv`], dims: [C, 3 * C], op: 'split3' },
      { gguf: `${p}attn_qkv.bias`, ours: [`${o}bq`, `${o}bk`, `${o}bv`], dims: [3 * C], op: 'split3' },
      { gguf: `${p}attn_output.weight`, ours: [`${o}wo`], dims: [C, C], op: 'copy' },
      { gguf: `${p}attn_output.bias`, ours: [`${o}bo`], dims: [C], op: 'copy' },
      { gguf: `${p}ffn_norm.weight`, ours: [`${o}ln2_w`], dims: [C], op: 'copy' },
      { gguf: `${p}ffn_norm.bias`, ours: [`${o}ln2_b`], dims: [C], op: 'copy' },
      { gguf: `${p}ffn_up.weight`, ours: [`${o}fc_w`], dims: [C, H], op: 'copy' },
      { gguf: `${p}ffn_up.bias`, ours: [`${o}fc_b`], dims: [H], op: 'copy' },
      { gguf: `${p}ffn_down.weight`, ours: [`${o}proj_w`], dims: [H, C], op: 'copy' },
      { gguf: `${p}ffn_down.bias`, ours: [`${o}proj_b`], dims: [C], op: 'copy' },
    );
  }
  rules.push(
    { gguf: 'output_norm.weight', ours: ['lnf_w'], dims: [C], op: 'copy' },
    { gguf: 'output_norm.bias', ours: ['lnf_b'], dims: [C], op: 'copy' },
  );
  if (!c.tiedEmbeddings) rules.push({ gguf: 'output.weight', ours: ['output'], dims: [C, c.vocabSize], op: 'copy' });
  return rules;
}

/** Every GGUF tensor of a model of this config, in llama.cpp's order. */
export function ggufNameRules(c: ModelConfig): GgufNameRule[] {
  return c.family === 'llama' ? llamaRules(c) : gpt2Rules(c);
}

/** Copies one GGUF tensor into our tensors `dst` (one per rule.ours). */
export function ggufToOurs(rule: GgufNameRule, src: Float32Array, dst: Float32Array[]): void {
  const n = src.length / dst.length;
  for (let k = 0; k < dst.length; k++) dst[k].set(src.subarray(k * n, (k + 1) * n));
}

/** The inverse of ggufToOurs. */
export function oursToGguf(src: Float32Array[]): Float32Array {
  if (src.length === 1) return src[0];
  const out = new Float32Array(src.reduce((a, s) => a + s.length, 0));
  let at = 0;
  for (const s of src) { out.set(s, at); at += s.length; }
  return out;
}
