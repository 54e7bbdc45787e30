// The one interface every compute backend implements: a small closed set of ops, each a
// forward/backward pair over Float32Array views. Code outside src/engine imports only this file
// (and loss-kinds.ts, select.ts, rope-tables.ts, rng.ts, profile-backend.ts); it never reaches
// into ref/ or native/ directly (cli/doctor.ts aside, which reports on the addon itself).
//
// Dimension letters (defined once, as in llm.c): B batch, T time (sequence), C channels,
// V vocabulary, NH query heads, NKV key/value heads, HS head size, N rows (B*T, flattened),
// M/N/K the matrix sizes of a GEMM.
//
// Conventions shared by every op (see src/engine/README.md):
// - Outputs first, then inputs, then sizes. Gradients carry a `d` prefix.
// - Parameter gradients ACCUMULATE (+=) into their buffer; activation gradients are OVERWRITTEN.
// - All arrays are contiguous row-major; a caller passes `subarray` views, never copies.
// - Ops do not allocate per call on the native backend; scratch comes from the caller or from
//   buffers the backend sized once.

import type { Divergence, FusedDivergence, TailMode, TeacherFormName } from './loss-kinds.js';

export type F32 = Float32Array;
export type I32 = Int32Array;

/** Rotary embedding conventions. `interleaved`: llama2.c / Meta, pairs (2i, 2i+1).
 *  `half`: Hugging Face rotate_half, pairs (i, i + HS/2). */
export type RopeMode = 'interleaved' | 'half';

export interface BackendInfo {
  /** 'ref' (pure TypeScript) or 'native' (C++ addon). */
  name: 'ref' | 'native';
  /** Instruction set the kernels dispatch to: 'avx512' | 'avx2' | 'scalar' | 'js'. */
  isa: string;
  /** Worker threads used by the kernels (1 for ref). */
  threads: number;
}

export interface Backend extends BackendInfo {
  /** Sets the number of worker threads (native); ignored by ref. */
  setThreads(n: number): void;

  // ---------------------------------------------------------------- GEMM
  /**
   * C (M,N) = alpha * op(A) · op(B) + beta * C.
   * op(A) is (M,K): A stored (M,K) when !transA, stored (K,M) when transA.
   * op(B) is (K,N): B stored (K,N) when !transB, stored (N,K) when transB.
   * The three layouts a training step needs: NN (dX = dY·W), NT (Y = X·Wᵀ), TN (dW = dYᵀ·X).
   * beta = 0 means C is not read (NaNs in C do not propagate).
   */
  gemm(c: F32, a: F32, b: F32, M: number, N: number, K: number,
       transA: boolean, transB: boolean, alpha: number, beta: number): void;

  // ---------------------------------------------------------------- embedding
  /** ids (N) i32, table (V,C) -> out (N,C). Throws on an id outside [0,V). */
  embeddingForward(out: F32, ids: I32, table: F32, N: number, V: number, C: number): void;
  /** dTable (V,C) += scatter of dOut (N,C) rows at ids. */
  embeddingBackward(dTable: F32, dOut: F32, ids: I32, N: number, V: number, C: number): void;

  // ---------------------------------------------------------------- norms
  /** inp (N,C), weight (C) -> out (N,C), rstd (N) saved for backward.
   *  out = inp * rstd * weight, rstd = 1/sqrt(mean(inp²) + eps). */
  rmsnormForward(out: F32, rstd: F32, inp: F32, weight: F32, N: number, C: number, eps: number): void;
  /** dInp (N,C) overwritten; dWeight (C) accumulated. */
  rmsnormBackward(dInp: F32, dWeight: F32, dOut: F32, inp: F32, weight: F32, rstd: F32,
                  N: number, C: number): void;
  /** inp (N,C), weight (C), bias (C) -> out (N,C), mean (N), rstd (N) (biased variance). */
  layernormForward(out: F32, mean: F32, rstd: F32, inp: F32, weight: F32, bias: F32,
                   N: number, C: number, eps: number): void;
  /** dInp (N,C) overwritten; dWeight, dBias (C) accumulated. */
  layernormBackward(dInp: F32, dWeight: F32, dBias: F32, dOut: F32, inp: F32, weight: F32,
                    mean: F32, rstd: F32, N: number, C: number): void;

  // ---------------------------------------------------------------- rotary
  /**
   * inp (B,T,NH,HS) -> out (B,T,NH,HS); out may alias inp (in place is allowed).
   * cos, sin (T,HS/2): the angle of pair i at time t (tables from ropeTables in rope-tables.ts;
   * pass a subarray starting at the first position for a KV-cache step).
   * Pair i is (2i, 2i+1) for 'interleaved' and (i, i+HS/2) for 'half'.
   */
  ropeForward(out: F32, inp: F32, cos: F32, sin: F32, B: number, T: number, NH: number,
              HS: number, mode: RopeMode): void;
  /** dInp = rotation of dOut by the negative angle; dInp may alias dOut. */
  ropeBackward(dInp: F32, dOut: F32, cos: F32, sin: F32, B: number, T: number, NH: number,
               HS: number, mode: RopeMode): void;

  // ---------------------------------------------------------------- attention
  /**
   * Causal scaled-dot-product attention with grouped-query heads (NH % NKV == 0; query head h
   * reads kv head floor(h / (NH/NKV))).
   * q (B,Tq,NH,HS), k (B,Tk,NKV,HS), v (B,Tk,NKV,HS) -> out (B,Tq,NH,HS), lse (B,NH,Tq).
   * Query t sits at absolute position Tk - Tq + t and sees keys 0..Tk-Tq+t (Tq == Tk in
   * training; Tq < Tk for a KV-cache step). scale = 1/sqrt(HS). lse is the log-sum-exp of the
   * scaled scores per query row, kept so the backward recomputes probabilities instead of
   * storing (Tq,Tk) scores.
   */
  attentionForward(out: F32, lse: F32, q: F32, k: F32, v: F32,
                   B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number): void;
  /** dq (B,Tq,NH,HS), dk, dv (B,Tk,NKV,HS) overwritten. out and lse from the forward. */
  attentionBackward(dq: F32, dk: F32, dv: F32, dOut: F32, q: F32, k: F32, v: F32,
                    out: F32, lse: F32,
                    B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number): void;

  // ---------------------------------------------------------------- activations (n elements)
  /** out = x * sigmoid(x). out may alias inp. */
  siluForward(out: F32, inp: F32, n: number): void;
  siluBackward(dInp: F32, dOut: F32, inp: F32, n: number): void;
  /** GELU, tanh approximation: 0.5x(1+tanh(√(2/π)(x+0.044715x³))). out may alias inp. */
  geluForward(out: F32, inp: F32, n: number): void;
  geluBackward(dInp: F32, dOut: F32, inp: F32, n: number): void;
  /** out = silu(gate) * up. */
  swigluForward(out: F32, gate: F32, up: F32, n: number): void;
  /** dGate, dUp overwritten. */
  swigluBackward(dGate: F32, dUp: F32, dOut: F32, gate: F32, up: F32, n: number): void;

  // ---------------------------------------------------------------- cross-entropy
  /**
   * logits (N,V), targets (N) i32 -> losses (N), lse (N).
   * losses[i] = lse[i] - logits[i, targets[i]]; rows whose target equals ignoreIndex get
   * loss 0 (lse is still written). Walks V in chunks with an online max/sum (one pass).
   * Throws on a target outside [0,V) that is not ignoreIndex.
   */
  crossEntropyForward(losses: F32, lse: F32, logits: F32, targets: I32,
                      N: number, V: number, ignoreIndex: number): void;
  /**
   * dLogits (N,V) overwritten = dLosses[i] * (softmax(logits[i]) - onehot(targets[i])); ignored
   * rows are zero. dLogits may alias logits (in place).
   */
  crossEntropyBackward(dLogits: F32, dLosses: F32, logits: F32, lse: F32, targets: I32,
                       N: number, V: number, ignoreIndex: number): void;

  // ---------------------------------------------------------------- optimizer
  /**
   * AdamW in place over n elements, PyTorch semantics (decoupled weight decay, bias correction):
   * p -= lr*wd*p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
   * p -= lr * (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps). step starts at 1.
   */
  adamwStep(params: F32, grads: F32, m: F32, v: F32, n: number, lr: number, beta1: number,
            beta2: number, eps: number, weightDecay: number, step: number): void;

  // ---------------------------------------------------------------- top-k
  /** inp (N,V) -> values (N,k) sorted descending, indices (N,k) i32. Ties: lower index first. */
  topkForward(values: F32, indices: I32, inp: F32, N: number, V: number, k: number): void;
  /** dInp (N,V) overwritten: zeros except dInp[i, indices[i,j]] = dValues[i,j]. */
  topkBackward(dInp: F32, dValues: F32, indices: I32, N: number, V: number, k: number): void;

  // ---------------------------------------------------------------- sampling
  /**
   * The next token of each row of logits (N,V) -> out (N): temperature ≤ 0 = argmax (ties: lower
   * index); else a float64 softmax at the temperature over the candidates — all V in index order,
   * or by logit descending (ties: lower index) when cut to the top k (0 = all) and then to the
   * shortest prefix whose mass reaches topP (1 = all) — and the first candidate whose cumulative
   * mass exceeds uniforms[i] · total.
   */
  sampleRows(out: I32, logits: F32, N: number, V: number, temperature: number, topK: number, topP: number, uniforms: Float64Array): void;

  // ---------------------------------------------------------------- bf16 weights (frozen teachers)
  /**
   * A frozen weight w (N,K) rounded to bf16 (round to nearest even, as torch's .bfloat16()) and
   * laid out for this backend's gemmBf16. Done once per weight (a teacher at load).
   */
  packBf16(w: F32, N: number, K: number): Bf16Weight;
  /**
   * c (M,N) = bf16(a) (M,K) · bf16(w)[0:N]ᵀ, products summed in fp32, + beta·c (beta 0 never reads
   * c). N ≤ w.N (a padded head's first rows). Throws EngineError for a weight another backend
   * packed, or bad sizes.
   */
  gemmBf16(c: F32, a: F32, w: Bf16Weight, M: number, N: number, beta: number): void;

  // ---------------------------------------------------------------- KD term (unfused)
  /**
   * The KD term of distillation over rows of logits: the per-element divergence terms of
   * DIVERGENCES (loss-kinds.ts) summed over each row's support, walked with an online
   * log-sum-exp (no (N,V) probability array). student (N,V) logits, teacher rows (dense (N,V)
   * or sparse top-k), targets (N) i32 or null (no row masked) ->
   *   rowLosses (N): per-row KD (× T² when scaleT2; 0 on rows whose target is ignoreIndex),
   *   dStudent (N,V) or null (forward only): gradScale · d(mean over unmasked rows)/dz,
   *   OVERWRITTEN (masked rows 0), or ADDED TO when accumulate (the one exception to the
   *   activation-gradient rule: the α mix sums the CE and KD gradients into one buffer).
   * Returns the mean over unmasked rows (0 when none) and their count. 'mse' takes dense rows
   * only. Throws on bad sizes and malformed sparse rows (ids out of range or repeated, tail < 0,
   * mass != 1 for tail modes bucket/uniform).
   */
  kdForwardBackward(args: KdArgs): LossResult;

  // ---------------------------------------------------------------- fused output head + loss
  /**
   * The output layer and the distillation loss in one op, walking rows in chunks so no (N,V)
   * array is ever held: per chunk, logits = hidden·weightᵀ (and the teacher's logits for a
   * 'hidden' teacher), the hard CE and the KD term per row (online log-sum-exp), dLogits, then
   * dHidden = dLogits·weight and dWeight += dLogitsᵀ·hidden.
   * hidden (N,C), weight (V,C) (the head; may be the tied embedding), targets (N) i32 ->
   *   rowCe (N), rowKd (N) per-row values (KD × T² when scaleT2; 0 on masked rows),
   *   dHidden (N,C) OVERWRITTEN, dWeight (V,C) ACCUMULATED, both the gradient of
   *   gradScale · (α·mean CE + (1−α)·mean KD) over the unmasked rows.
   * Same values as the head GEMM + crossEntropy* + kdForwardBackward + the two GEMMs (ref/head-loss.ts
   * composes exactly that). One argument object, checked once by the backend. Throws
   * EngineError/RangeError on bad sizes, targets outside [0,V) that are not ignoreIndex, and
   * sparse rows that are malformed (ids out of range or repeated, tail < 0, mass != 1).
   */
  headLossForwardBackward(args: HeadLossArgs): HeadLossResult;
}

/** A weight packed by Backend.packBf16: (N,K) in bf16, `layout` names the backend path that
 *  packed it (data is only meaningful to that path). */
export interface Bf16Weight { readonly N: number; readonly K: number; readonly layout: string; readonly data: Uint16Array }

// ---------------------------------------------------------------- loss op types
/** The ignoreIndex a recipe and the model's own loss use unless told otherwise: never a token id. */
export const DEFAULT_IGNORE_INDEX = -1;

/** The teacher side of the loss ops, by form (TEACHER_FORMS in loss-kinds.ts). */
export type LossTeacher =
  | { kind: 'none' }                                   // hard labels only: KD is 0
  | { kind: 'logits'; logits: F32 }                    // (N,V) raw logits, divided by T
  | { kind: 'logprobs'; logProbs: F32 }                // (N,V) processed log-probs, used as given
  /** Teacher final hidden (N,Ct) and head (Vt,Ct), Vt >= V (a padded head: only rows [0,V) are
   *  used). Its logits hidden·head[0:V]ᵀ are made chunk by chunk, divided by T; with weightBf16
   *  (the head packed by this backend's packBf16) by gemmBf16 instead. Fused op only. */
  | { kind: 'hidden'; hidden: F32; weight: F32; C: number; weightBf16?: Bf16Weight }
  /** ids (N,k) i32 (-1 = empty slot), logProbs (N,k), tail (N): top-k rows and the mass outside. */
  | { kind: 'sparse'; ids: I32; logProbs: F32; tail: F32; k: number; tailMode: TailMode };

/** Compile-time check: the union above names exactly the forms of TEACHER_FORMS. */
type SameNames<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const teacherFormsMatch: SameNames<LossTeacher['kind'], TeacherFormName> = true;
void teacherFormsMatch;

/** The teacher rows the fused head loss takes: every form. */
export type HeadLossTeacher = LossTeacher;
/** The teacher rows the KD term takes: those that hold a distribution per row. */
export type KdTeacher = Extract<LossTeacher, { kind: 'logits' | 'logprobs' | 'sparse' }>;
/** The KD divergences the fused head loss computes ('mse' on logits is not fused). */
export type HeadLossDivergence = FusedDivergence;

/** Means over the unmasked rows (0 when every row is masked) and that count. */
export interface LossResult { loss: number; count: number }

export interface KdArgs {
  /** (N,V) gradient out, or null for the forward only. */
  dStudent: F32 | null;
  /** (N) per-row KD. */
  rowLosses: F32;
  /** (N,V) student logits. */
  student: F32;
  teacher: KdTeacher;
  /** (N) i32; rows equal to ignoreIndex are masked. null: no row masked. */
  targets: I32 | null;
  N: number;
  V: number;
  divergence: Divergence;
  /** Student (and raw teacher logits) divided by T (> 0); log-prob and sparse rows are taken as given. */
  temperature: number;
  /** Multiply the loss and gradient by T². */
  scaleT2: boolean;
  ignoreIndex: number;
  /** Multiplies the gradient (not the reported loss). */
  gradScale: number;
  /** Add the gradient into dStudent instead of overwriting it. */
  accumulate: boolean;
  /** ref only: vocabulary chunk of the online log-sum-exp walk (default 4096); any value gives
   *  the same result up to rounding, tests set it to cover partial chunks. */
  chunk?: number;
}

export interface HeadLossOptions {
  /** Weight of the hard-label CE in [0,1]; 1−α goes to KD. */
  alpha: number;
  divergence: HeadLossDivergence;
  /** KD temperature (> 0); the CE term always uses T = 1. */
  temperature: number;
  /** Multiply the KD loss and gradient by T². */
  scaleT2: boolean;
  /** Rows whose target equals this are masked in both terms. */
  ignoreIndex: number;
  /** Multiplies both gradients (not the reported losses), e.g. 1/microBatches. */
  gradScale: number;
  /** Rows per chunk (default: about 8M logits per chunk, at least 16 rows). Any value gives the
   *  same result up to rounding; tests set it to cover partial chunks. */
  chunkRows?: number;
}

/** The fused op's one argument: arrays and sizes (shapes in Backend.headLossForwardBackward) and the options. */
export interface HeadLossArgs extends HeadLossOptions {
  dHidden: F32; dWeight: F32; rowCe: F32; rowKd: F32;
  hidden: F32; weight: F32; teacher: HeadLossTeacher; targets: I32;
  N: number; V: number; C: number;
}

/** Means over the unmasked rows (0 when every row is masked) and that count. */
export interface HeadLossResult { loss: number; ce: number; kd: number; count: number }

/** Thrown by an op when its arguments cannot be right (sizes, ids out of range). */
export class EngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineError';
  }
}
