// The activation memory of a model for a (B, T) capacity: ONE Float32Array carved once into the
// views forward/backward read and write, reused across steps (no allocation per step).
// Training mode keeps every layer's activations for the backward; inference mode shares one
// layer's worth across all layers and holds logits for the last position only unless asked for
// all. It computes nothing.

import { type ModelConfig, headSize, kvDim, validateConfig } from './config.js';
import { ModelError } from './errors.js';

/** The saved tensors of one block (N = B*T rows). Fields unused by a family are empty. */
export interface LayerActs {
  /** Norm 1 output (N,C), its rstd (N) and mean (N, layernorm only). */
  h1: Float32Array; rstd1: Float32Array; mean1: Float32Array;
  /** q (N,NH*HS), k and v (N,NKV*HS) after rotary; attention out (N,NH*HS), lse (B,NH,T). */
  q: Float32Array; k: Float32Array; v: Float32Array; att: Float32Array; lse: Float32Array;
  /** Residual after attention (N,C). */
  xMid: Float32Array;
  h2: Float32Array; rstd2: Float32Array; mean2: Float32Array;
  /** Llama: gate = h2·w1ᵀ, up = h2·w3ᵀ; GPT-2: gate holds the fc pre-activation, up is empty. */
  gate: Float32Array; up: Float32Array;
  /** MLP hidden after the activation (N,H). */
  act: Float32Array;
  /** Factored matrices (config.lowRank): the inner product x·aᵀ (N,r) by short name, kept for backward. */
  low: Record<string, Float32Array>;
}

export interface Activations {
  config: ModelConfig;
  /** Capacity: forward accepts any B*T <= B*T of the capacity with T <= capacity T. */
  B: number; T: number;
  training: boolean;
  /** Residual stream: x[l] is the input of block l, x[L] the input of the final norm (N,C).
   *  In inference mode every entry is the same view. */
  x: Float32Array[];
  layers: LayerActs[];
  /** Final norm output (N,C), rstd, mean (N). */
  hf: Float32Array; rstdf: Float32Array; meanf: Float32Array;
  /** Logits (N,V) in training mode or with allLogits, else (B,V) (last position only). */
  logits: Float32Array;
  /** Cross-entropy scratch: per-row losses, lse and dLoss (N). */
  losses: Float32Array; ceLse: Float32Array; dLosses: Float32Array;
  /** Backward scratch (training only): residual grad dx, dh, dtmp (N,C); dq, datt (N,NH*HS);
   *  dk, dv (N,NKV*HS); dgate, dup, dact (N,H). */
  dx: Float32Array; dh: Float32Array; dtmp: Float32Array;
  dq: Float32Array; datt: Float32Array; dk: Float32Array; dv: Float32Array;
  dgate: Float32Array; dup: Float32Array; dact: Float32Array;
  /** Backward scratch of a factored matrix's inner gradient (N, largest rank); empty when dense. */
  dLow: Float32Array;
  /** A column of ones (N) for bias adds and bias gradients through gemm. */
  ones: Float32Array;
  /** Position ids b*T+t -> t (N), for GPT-2's wpe gradient through embeddingBackward. */
  positions: Int32Array;
  /** Set by forward for backward: the tokens and sizes of the last training forward. */
  last: { tokens: Int32Array | null; B: number; T: number };
  /** Total floats in the one buffer (for reporting memory). */
  floats: number;
}

export interface ActivationOptions {
  /** Keep per-layer activations and backward scratch (default true). */
  training?: boolean;
  /** Inference only: hold logits for every position (N,V), e.g. for a teacher's forward,
   *  instead of the last position only (B,V). Training always holds them all. */
  allLogits?: boolean;
  /** false: hold no logits at all (length 0), for a model whose head runs fused with the loss
   *  (forwardToHidden + Backend.headLossForwardBackward): saves the (N,V) array. Default true. */
  headLogits?: boolean;
}

/** Carves the activation buffer of `config` for a (B, T) capacity. */
export function createActivations(config: ModelConfig, B: number, T: number, opts: ActivationOptions = {}): Activations {
  validateConfig(config);
  const training = opts.training ?? true;
  if (!Number.isInteger(B) || B < 1) throw new ModelError(`createActivations: B must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1 || T > config.maxSeqLen) {
    throw new ModelError(`createActivations: T must be an integer in [1, maxSeqLen=${config.maxSeqLen}], got ${T}`);
  }
  const N = B * T, C = config.dim, H = config.hiddenDim, V = config.vocabSize, L = config.nLayers;
  const Q = headSize(config) * config.nHeads, KV = kvDim(config), NH = config.nHeads;
  const gpt2 = config.family === 'gpt2';
  const lowRanks = Object.entries(config.lowRank ?? {}) as [string, number][];

  // Two passes over the same plan: count, then carve.
  let buf: Float32Array | null = null;
  let off = 0;
  const take = (n: number): Float32Array => {
    const v = buf ? buf.subarray(off, off + n) : new Float32Array(0);
    off += n;
    return v;
  };
  const plan = () => {
    off = 0;
    const nBlocks = training ? L : 1;
    const layers: LayerActs[] = [];
    for (let l = 0; l < nBlocks; l++) {
      layers.push({
        h1: take(N * C), rstd1: take(N), mean1: take(gpt2 ? N : 0),
        q: take(N * Q), k: take(N * KV), v: take(N * KV), att: take(N * Q), lse: take(N * NH),
        xMid: take(N * C),
        h2: take(N * C), rstd2: take(N), mean2: take(gpt2 ? N : 0),
        gate: take(N * H), up: take(gpt2 ? 0 : N * H), act: take(N * H),
        low: Object.fromEntries(lowRanks.map(([m, r]) => [m, take(N * r)])),
      });
    }
    while (layers.length < L) layers.push(layers[0]);
    const x: Float32Array[] = [];
    if (training) for (let l = 0; l <= L; l++) x.push(take(N * C));
    else { const shared = take(N * C); for (let l = 0; l <= L; l++) x.push(shared); }
    const bw = (n: number) => take(training ? n : 0);
    return {
      layers, x,
      hf: take(N * C), rstdf: take(N), meanf: take(N),
      logits: take(opts.headLogits === false ? 0 : training || opts.allLogits ? N * V : B * V),
      losses: bw(N), ceLse: bw(N), dLosses: bw(N),
      dx: bw(N * C), dh: bw(N * C), dtmp: bw(N * C),
      dq: bw(N * Q), datt: bw(N * Q), dk: bw(N * KV), dv: bw(N * KV),
      dgate: bw(N * H), dup: bw(gpt2 ? 0 : N * H), dact: bw(N * H),
      dLow: bw(N * Math.max(0, ...lowRanks.map(([, r]) => r))),
      ones: take(N),
    };
  };
  plan();
  const floats = off;
  buf = new Float32Array(floats);
  const views = plan();
  views.ones.fill(1);
  const positions = new Int32Array(N);
  for (let i = 0; i < N; i++) positions[i] = i % T;
  return { config, B, T, training, ...views, positions, last: { tokens: null, B: 0, T: 0 }, floats };
}
