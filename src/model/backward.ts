// The backward pass of both families: from dLogits (B,T,V) of the last training forward (or from
// the final-norm output's gradient, backwardFromHidden), every
// parameter gradient ACCUMULATES into model.grads (same layout as params). Activation gradients
// live in the Activations' scratch. It does not compute the loss (loss.ts) nor zero the grads.

import type { Backend } from '../engine/backend.js';
import { headSize, kvDim } from './config.js';
import type { Activations } from './activations.js';
import { type Model, grad, param } from './model.js';
import { head, headParamName } from './forward.js';
import { ModelError } from './errors.js';

/** dInp (N,I) = dOut (N,O) · w (O,I) (+= when accumulate); dW += dOutᵀ·inp; dBias += Σ rows. */
function linearBackward(be: Backend, dInp: Float32Array | null, dW: Float32Array, dBias: Float32Array | null,
  dOut: Float32Array, inp: Float32Array, w: Float32Array, ones: Float32Array,
  N: number, O: number, I: number, accumulate: boolean): void {
  if (dInp) be.gemm(dInp, dOut, w, N, I, O, false, false, 1, accumulate ? 1 : 0);
  be.gemm(dW, dOut, inp, O, I, N, true, false, 1, 1);
  if (dBias) be.gemm(dBias, ones, dOut, 1, O, N, false, false, 1, 1);
}

/** linearBackward of block matrix `layers.l.<base>`: dense, or through its factors (config.lowRank:
 *  dLow = dOut·b, dB += dOutᵀ·low, then dInp (+)= dLow·a, dA += dLowᵀ·inp). */
function blockLinearBackward(be: Backend, model: Model, acts: Activations, l: number, base: string, dInp: Float32Array | null,
  dBias: Float32Array | null, dOut: Float32Array, inp: Float32Array, ones: Float32Array, N: number, O: number, I: number, accumulate: boolean): void {
  const r = model.config.lowRank?.[base];
  const name = `layers.${l}.${base}`;
  if (!r) return linearBackward(be, dInp, grad(model, name), dBias, dOut, inp, param(model, name), ones, N, O, I, accumulate);
  const dLow = head(acts.dLow, N * r);
  linearBackward(be, dLow, grad(model, `${name}_b`), dBias, dOut, head(acts.layers[l].low[base], N * r), param(model, `${name}_b`), ones, N, O, r, false);
  linearBackward(be, dInp, grad(model, `${name}_a`), null, dLow, inp, param(model, `${name}_a`), ones, N, r, I, accumulate);
}

function addInPlace(dst: Float32Array, src: Float32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}

/**
 * Backpropagates dLogits (N,V) — it may be acts.logits itself, overwritten in place by
 * crossEntropyBackward — through the model. Needs the activations of the forward just run on
 * `acts` (training mode, no cache, not lastOnly). Gradients accumulate into model.grads.
 */
/** A model with bf16 weight copies is frozen: its forward did not use the params backward reads. */
function frozenCheck(model: Model, op: string): void {
  if (model.bf16) throw new ModelError(`${op}: this model computes with frozen bf16 weight copies (a teacher's, withBf16Weights) and cannot be trained; train the fp32 model`);
}

export function backward(be: Backend, model: Model, acts: Activations, dLogits: Float32Array,
  residualGrads?: ReadonlyMap<number, Float32Array>): void {
  const c = model.config;
  frozenCheck(model, 'backward');
  const { B, T } = lastTraining(acts, 'backward');
  const N = B * T, C = c.dim, V = c.vocabSize;
  if (dLogits.length < N * V) throw new ModelError(`backward: dLogits has ${dLogits.length} floats, expected B*T*V = ${N * V}`);
  const headName = headParamName(c);
  const dh = head(acts.dh, N * C);
  linearBackward(be, dh, grad(model, headName), null, head(dLogits, N * V), head(acts.hf, N * C), param(model, headName),
    head(acts.ones, N), N, V, C, false);
  backwardFromHidden(be, model, acts, dh, residualGrads);
}

/** The tokens and sizes of the last training forward on acts; throws when there is none. */
function lastTraining(acts: Activations, op: string): { tokens: Int32Array; B: number; T: number } {
  const { tokens, B, T } = acts.last;
  if (!acts.training) throw new ModelError(`${op}: activations were created with { training: false }; create them with training: true`);
  if (!tokens) throw new ModelError(`${op}: no training forward to backpropagate through; call forward (without lastOnly or cache) first`);
  return { tokens, B, T };
}

/**
 * The backward from the final-norm output: dHidden (N,C), the gradient w.r.t. what
 * forwardToHidden returned (e.g. from Backend.headLossForwardBackward, which already added the
 * head's own gradient), through the final norm and every block. dHidden may be acts.dh; it is
 * used as scratch afterwards. Gradients accumulate into model.grads. residualGrads: extra
 * gradients (N,C) of residual states x[i] (i = 0 the embeddings' output .. L the last block's,
 * as hidden-state losses give them), added where the walk reaches x[i].
 */
export function backwardFromHidden(be: Backend, model: Model, acts: Activations, dHidden: Float32Array,
  residualGrads?: ReadonlyMap<number, Float32Array>): void {
  const c = model.config;
  frozenCheck(model, 'backwardFromHidden');
  const { tokens, B, T } = lastTraining(acts, 'backwardFromHidden');
  const N = B * T, C = c.dim, H = c.hiddenDim, V = c.vocabSize, L = c.nLayers;
  const NH = c.nHeads, NKV = c.nKvHeads, HS = headSize(c), Q = NH * HS, KV = kvDim(c);
  const llama = c.family === 'llama';
  if (dHidden.length < N * C) throw new ModelError(`backwardFromHidden: dHidden has ${dHidden.length} floats, expected B*T*C = ${N * C}`);
  const ones = head(acts.ones, N);
  const dx = head(acts.dx, N * C), dh = head(acts.dh, N * C), dtmp = head(acts.dtmp, N * C);
  const dHf = head(dHidden, N * C);

  // Final norm.
  const xL = head(acts.x[L], N * C);
  if (llama) be.rmsnormBackward(dx, grad(model, 'norm'), dHf, xL, param(model, 'norm'), head(acts.rstdf, N), N, C);
  else be.layernormBackward(dx, grad(model, 'lnf_w'), grad(model, 'lnf_b'), dHf, xL, param(model, 'lnf_w'),
    head(acts.meanf, N), head(acts.rstdf, N), N, C);
  const addResidual = (i: number) => { const g = residualGrads?.get(i); if (g) addInPlace(dx, head(g, N * C)); };
  addResidual(L);

  const half = HS / 2;
  const cos = llama ? model.ropeCos.subarray(0, T * half) : model.ropeCos;
  const sin = llama ? model.ropeSin.subarray(0, T * half) : model.ropeSin;
  const dq = head(acts.dq, N * Q), datt = head(acts.datt, N * Q);
  const dk = head(acts.dk, N * KV), dv = head(acts.dv, N * KV);
  const dgate = head(acts.dgate, N * H), dact = head(acts.dact, N * H);

  for (let l = L - 1; l >= 0; l--) {
    const la = acts.layers[l];
    const p = (n: string) => param(model, `layers.${l}.${n}`);
    const g = (n: string) => grad(model, `layers.${l}.${n}`);
    const x = head(acts.x[l], N * C), xMid = head(la.xMid, N * C);
    const h1 = head(la.h1, N * C), h2 = head(la.h2, N * C);
    const act = head(la.act, N * H), gate = head(la.gate, N * H);

    // MLP block: dx is the gradient of this block's output residual.
    if (llama) {
      const up = head(la.up, N * H), dup = head(acts.dup, N * H);
      blockLinearBackward(be, model, acts, l, 'w2', dact, null, dx, act, ones, N, C, H, false);
      be.swigluBackward(dgate, dup, dact, gate, up, N * H);
      blockLinearBackward(be, model, acts, l, 'w1', dh, null, dgate, h2, ones, N, H, C, false);
      blockLinearBackward(be, model, acts, l, 'w3', dh, null, dup, h2, ones, N, H, C, true);
      be.rmsnormBackward(dtmp, g('ffn_norm'), dh, xMid, p('ffn_norm'), head(la.rstd2, N), N, C);
    } else {
      blockLinearBackward(be, model, acts, l, 'proj_w', dact, g('proj_b'), dx, act, ones, N, C, H, false);
      be.geluBackward(dgate, dact, gate, N * H);
      blockLinearBackward(be, model, acts, l, 'fc_w', dh, g('fc_b'), dgate, h2, ones, N, H, C, false);
      be.layernormBackward(dtmp, g('ln2_w'), g('ln2_b'), dh, xMid, p('ln2_w'), head(la.mean2, N), head(la.rstd2, N), N, C);
    }
    addInPlace(dx, dtmp); // dx is now the gradient of xMid

    // Attention block.
    blockLinearBackward(be, model, acts, l, 'wo', datt, llama ? null : g('bo'), dx, head(la.att, N * Q), ones, N, C, Q, false);
    be.attentionBackward(dq, dk, dv, datt, head(la.q, N * Q), head(la.k, N * KV), head(la.v, N * KV),
      head(la.att, N * Q), head(la.lse, N * NH), B, T, T, NH, NKV, HS);
    if (llama) {
      be.ropeBackward(dq, dq, cos, sin, B, T, NH, HS, c.ropeMode);
      be.ropeBackward(dk, dk, cos, sin, B, T, NKV, HS, c.ropeMode);
    }
    const hasB = !llama || c.qkvBias;
    blockLinearBackward(be, model, acts, l, 'wq', dh, hasB ? g('bq') : null, dq, h1, ones, N, Q, C, false);
    blockLinearBackward(be, model, acts, l, 'wk', dh, hasB ? g('bk') : null, dk, h1, ones, N, KV, C, true);
    blockLinearBackward(be, model, acts, l, 'wv', dh, hasB ? g('bv') : null, dv, h1, ones, N, KV, C, true);
    if (llama) be.rmsnormBackward(dtmp, g('attn_norm'), dh, x, p('attn_norm'), head(la.rstd1, N), N, C);
    else be.layernormBackward(dtmp, g('ln1_w'), g('ln1_b'), dh, x, p('ln1_w'), head(la.mean1, N), head(la.rstd1, N), N, C);
    addInPlace(dx, dtmp); // dx is now the gradient of x[l]
    addResidual(l);
  }

  // Embeddings.
  if (llama) be.embeddingBackward(grad(model, 'tok_embeddings'), dx, tokens, N, V, C);
  else {
    be.embeddingBackward(grad(model, 'wte'), dx, tokens, N, V, C);
    const pos = acts.positions.subarray(0, N);
    for (let i = 0; i < N; i++) pos[i] = i % T;
    be.embeddingBackward(grad(model, 'wpe'), dx, pos, N, c.maxSeqLen, C);
  }
}
