// The forward pass of both families on any Backend: tokens (B,T) -> logits (or, with
// forwardToHidden, the final-norm output the fused head loss consumes), saving what the
// backward needs in the Activations. With a KvCache (B = 1) it runs only the new tokens, appends
// their keys/values and attends over the whole cache. No allocation beyond small views.
// It does not compute a loss (loss.ts) or gradients (backward.ts).

import type { Backend, Bf16Weight } from '../engine/backend.js';
import { headSize, kvDim } from './config.js';
import type { Activations } from './activations.js';
import type { KvCache } from './kv-cache.js';
import { type Model, matmulWeight, param } from './model.js';
import { ModelError } from './errors.js';

export interface ForwardOptions {
  /** Append to this cache and attend over it (B must be 1; positions start at cache.length). */
  cache?: KvCache;
  /** Compute logits for the last position of each sequence only: returns (B,V). */
  lastOnly?: boolean;
}

/** The first n elements of a, without a new view when n covers it all. */
export const head = (a: Float32Array, n: number): Float32Array => (n === a.length ? a : a.subarray(0, n));

/** out (N,O) = inp (N,I) · wᵀ (+ bias (O) via the ones column), or += when accumulate; w fp32 or
 *  a bf16 copy (Model.bf16). */
export function linearForward(be: Backend, out: Float32Array, inp: Float32Array, w: Float32Array | Bf16Weight,
  bias: Float32Array | null, ones: Float32Array, N: number, O: number, I: number, accumulate: boolean): void {
  if (w instanceof Float32Array) be.gemm(out, inp, w, N, O, I, false, true, 1, accumulate ? 1 : 0);
  else be.gemmBf16(out, inp, w, N, O, accumulate ? 1 : 0);
  if (bias) be.gemm(out, ones, bias, N, O, 1, false, false, 1, 1);
}

/** A block matrix `layers.l.<base>` applied as linearForward does: dense, or through its factors
 *  (config.lowRank: low = inp·aᵀ (N,r) saved in `low`, then out = low·bᵀ). */
export function blockLinearForward(be: Backend, model: Model, low: Record<string, Float32Array>, l: number, base: string,
  out: Float32Array, inp: Float32Array, bias: Float32Array | null, ones: Float32Array, N: number, O: number, I: number, accumulate: boolean): void {
  const r = model.config.lowRank?.[base];
  const name = `layers.${l}.${base}`;
  if (!r) return linearForward(be, out, inp, matmulWeight(model, name), bias, ones, N, O, I, accumulate);
  const mid = head(low[base], N * r);
  linearForward(be, mid, inp, matmulWeight(model, `${name}_a`), null, ones, N, r, I, false);
  linearForward(be, out, mid, matmulWeight(model, `${name}_b`), bias, ones, N, O, r, accumulate);
}

/** The name of the output head parameter (V,C): the embedding table when tied. */
export function headParamName(c: Model['config']): string {
  return c.tiedEmbeddings ? (c.family === 'llama' ? 'tok_embeddings' : 'wte') : 'output';
}

/**
 * tokens (B*T) i32 -> logits. Returns a view of acts.logits: (B,T,V), or (B,V) with lastOnly.
 * backward() reads `tokens` again (embedding gradient): keep them unchanged until it has run.
 * Throws ModelError when the sizes do not fit the activations, the cache or maxSeqLen.
 */
export function forward(be: Backend, model: Model, acts: Activations, tokens: Int32Array,
  B: number, T: number, opts: ForwardOptions = {}): Float32Array {
  const c = model.config, V = c.vocabSize;
  const R = opts.lastOnly ? B : B * T;
  const fits = B * T <= acts.B * acts.T && T <= acts.T; // else forwardToHidden throws the size error
  if (fits && acts.logits.length < R * V) throw new ModelError('forward: these activations hold too few logits (inference ones hold the last position only, { headLogits: false } none); pass { lastOnly: true } or create them with { allLogits: true } (and without { headLogits: false })');
  const hf = forwardToHidden(be, model, acts, tokens, B, T, opts);
  const logits = head(acts.logits, R * V);
  linearForward(be, logits, hf, matmulWeight(model, headParamName(c)), null, acts.ones, R, V, c.dim, false);
  return logits;
}

/**
 * The forward up to the final norm: tokens (B*T) i32 -> a view of acts.hf, (B*T,C) or (B,C)
 * with lastOnly — the input of the output head (headParamName), which it does not apply. The
 * fused head + loss (Backend.headLossForwardBackward) takes it from here; backwardFromHidden
 * is its backward. Same checks and saved state as forward.
 */
export function forwardToHidden(be: Backend, model: Model, acts: Activations, tokens: Int32Array,
  B: number, T: number, opts: ForwardOptions = {}): Float32Array {
  const c = model.config;
  const cache = opts.cache;
  const lastOnly = opts.lastOnly ?? false;
  const N = B * T, C = c.dim, H = c.hiddenDim, V = c.vocabSize, L = c.nLayers;
  const NH = c.nHeads, NKV = c.nKvHeads, HS = headSize(c), Q = NH * HS, KV = kvDim(c);
  const llama = c.family === 'llama';
  const pos0 = cache ? cache.length : 0;

  if (tokens.length !== N) throw new ModelError(`forward: tokens has ${tokens.length} ids, expected B*T = ${B}*${T} = ${N}`);
  if (!Number.isInteger(B) || !Number.isInteger(T) || B < 1 || T < 1) throw new ModelError(`forward: B and T must be positive integers, got B=${B} T=${T}`);
  if (N > acts.B * acts.T || T > acts.T) throw new ModelError(`forward: B=${B} T=${T} does not fit activations created for B=${acts.B} T=${acts.T}; create larger ones with createActivations`);
  if (cache) {
    if (B !== 1) throw new ModelError(`forward: a KV cache holds one sequence, got B=${B}`);
    if (pos0 + T > cache.capacity) throw new ModelError(`forward: cache holds ${cache.capacity} positions, ${pos0} filled, cannot add ${T}`);
  }
  if (pos0 + T > c.maxSeqLen) throw new ModelError(`forward: position ${pos0 + T - 1} is beyond maxSeqLen ${c.maxSeqLen}`);

  const ones = head(acts.ones, N);
  const x0 = head(acts.x[0], N * C);
  // Embeddings (+ learned positions for GPT-2).
  if (llama) be.embeddingForward(x0, tokens, param(model, 'tok_embeddings'), N, V, C);
  else {
    be.embeddingForward(x0, tokens, param(model, 'wte'), N, V, C);
    const wpe = param(model, 'wpe');
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const xo = (b * T + t) * C, po = (pos0 + t) * C;
        for (let i = 0; i < C; i++) x0[xo + i] += wpe[po + i];
      }
    }
  }
  const half = HS / 2;
  const cos = llama ? model.ropeCos.subarray(pos0 * half, (pos0 + T) * half) : model.ropeCos;
  const sin = llama ? model.ropeSin.subarray(pos0 * half, (pos0 + T) * half) : model.ropeSin;
  const Tk = pos0 + T;

  for (let l = 0; l < L; l++) {
    const la = acts.layers[l];
    const p = (n: string) => param(model, `layers.${l}.${n}`);
    const lin = (n: string, out: Float32Array, inp: Float32Array, bias: Float32Array | null, O: number, I: number, acc: boolean) =>
      blockLinearForward(be, model, la.low, l, n, out, inp, bias, ones, N, O, I, acc);
    const x = head(acts.x[l], N * C), xNext = head(acts.x[l + 1], N * C);
    const h1 = head(la.h1, N * C), xMid = head(la.xMid, N * C), h2 = head(la.h2, N * C);
    const q = head(la.q, N * Q), att = head(la.att, N * Q), lse = head(la.lse, N * NH);
    const act = head(la.act, N * H), gate = head(la.gate, N * H);
    const kNew = cache ? cache.k[l].subarray(pos0 * KV, Tk * KV) : head(la.k, N * KV);
    const vNew = cache ? cache.v[l].subarray(pos0 * KV, Tk * KV) : head(la.v, N * KV);
    const kAll = cache ? cache.k[l].subarray(0, Tk * KV) : kNew;
    const vAll = cache ? cache.v[l].subarray(0, Tk * KV) : vNew;

    // Attention block.
    if (llama) be.rmsnormForward(h1, la.rstd1, x, p('attn_norm'), N, C, c.normEps);
    else be.layernormForward(h1, la.mean1, la.rstd1, x, p('ln1_w'), p('ln1_b'), N, C, c.normEps);
    const hasB = !llama || c.qkvBias;
    lin('wq', q, h1, hasB ? p('bq') : null, Q, C, false);
    lin('wk', kNew, h1, hasB ? p('bk') : null, KV, C, false);
    lin('wv', vNew, h1, hasB ? p('bv') : null, KV, C, false);
    if (llama) {
      be.ropeForward(q, q, cos, sin, B, T, NH, HS, c.ropeMode);
      be.ropeForward(kNew, kNew, cos, sin, B, T, NKV, HS, c.ropeMode);
    }
    be.attentionForward(att, lse, q, kAll, vAll, B, T, Tk, NH, NKV, HS);
    xMid.set(x);
    lin('wo', xMid, att, llama ? null : p('bo'), C, Q, true);

    // MLP block.
    if (llama) {
      const up = head(la.up, N * H);
      be.rmsnormForward(h2, la.rstd2, xMid, p('ffn_norm'), N, C, c.normEps);
      lin('w1', gate, h2, null, H, C, false);
      lin('w3', up, h2, null, H, C, false);
      be.swigluForward(act, gate, up, N * H);
      xNext.set(xMid);
      lin('w2', xNext, act, null, C, H, true);
    } else {
      be.layernormForward(h2, la.mean2, la.rstd2, xMid, p('ln2_w'), p('ln2_b'), N, C, c.normEps);
      lin('fc_w', gate, h2, p('fc_b'), H, C, false);
      be.geluForward(act, gate, N * H);
      xNext.set(xMid);
      lin('proj_w', xNext, act, p('proj_b'), C, H, true);
    }
  }

  // Final norm and head; with lastOnly, only the last row of each sequence.
  const R = lastOnly ? B : N;
  let xf = head(acts.x[L], N * C);
  if (lastOnly) {
    // Gather last rows into the front of x[L] (row b*T+T-1 -> row b; b <= b*T+T-1 so no clobber).
    for (let b = 0; b < B; b++) xf.copyWithin(b * C, (b * T + T - 1) * C, (b * T + T) * C);
    xf = xf.subarray(0, R * C);
  }
  const hf = head(acts.hf, R * C);
  if (llama) be.rmsnormForward(hf, head(acts.rstdf, R), xf, param(model, 'norm'), R, C, c.normEps);
  else be.layernormForward(hf, head(acts.meanf, R), head(acts.rstdf, R), xf, param(model, 'lnf_w'), param(model, 'lnf_b'), R, C, c.normEps);

  if (cache) cache.length += T;
  acts.last.tokens = lastOnly ? null : tokens;
  acts.last.B = B;
  acts.last.T = T;
  return hf;
}
