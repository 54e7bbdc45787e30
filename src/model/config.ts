// Model configurations of the two decoder-only families distill runs: Llama (RMSNorm, rotary,
// grouped-query attention, SwiGLU; covers Mistral and Qwen2-style configs via qkvBias) and
// GPT-2 (LayerNorm, learned positions, GELU MLP, biases everywhere, tied head).
// Only the shape of a model lives here; file formats map onto it in src/io/.

import type { RopeMode } from '../engine/backend.js';

export type Family = 'llama' | 'gpt2';

export interface ModelConfig {
  family: Family;
  /** C: model width. */
  dim: number;
  /** L: transformer blocks. */
  nLayers: number;
  /** NH: query heads; head size HS = dim / nHeads. */
  nHeads: number;
  /** NKV: key/value heads (NH % NKV == 0); GPT-2 always nHeads. */
  nKvHeads: number;
  /** MLP width (Llama: SwiGLU hidden; GPT-2: usually 4*dim). */
  hiddenDim: number;
  /** V: vocabulary (rows of the embedding and the head). */
  vocabSize: number;
  /** Longest context (GPT-2: rows of the position table; Llama: rope table length). */
  maxSeqLen: number;
  /** Norm epsilon (llama2.c 1e-5; HF rms_norm_eps / layer_norm_epsilon). */
  normEps: number;
  /** Rotary base (Llama only; 10000 for Llama 2 and llama2.c). */
  ropeTheta: number;
  /** Rotary pairing (Llama only): llama2.c checkpoints interleave, HF checkpoints half-split. */
  ropeMode: RopeMode;
  /** The output head shares the token embedding. */
  tiedEmbeddings: boolean;
  /** Llama family: q/k/v projections carry biases (Qwen2). GPT-2 always has biases. */
  qkvBias: boolean;
  /** Block matrices stored as two factors W ≈ B·A of this rank, in every layer (absent: all dense).
   *  Keys: LOW_RANK_MATRICES of the family. `distill shrink --rank` makes such models; export
   *  multiplies the factors out (denseModel in low-rank.ts). */
  lowRank?: Partial<Record<string, number>>;
}

/** The block matrices that can be factored, per family. */
export const LOW_RANK_MATRICES = { llama: ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'], gpt2: ['wq', 'wk', 'wv', 'wo', 'fc_w', 'proj_w'] } as const;

/** (out, in) of a block matrix by its short name ('wq', 'w2', ...). */
export function matrixDims(c: ModelConfig, base: string): [number, number] {
  const C = c.dim, H = c.hiddenDim, Q = (c.dim / c.nHeads) * c.nHeads, KV = (c.dim / c.nHeads) * c.nKvHeads;
  switch (base) {
    case 'wq': return [Q, C];
    case 'wk': case 'wv': return [c.family === 'gpt2' ? C : KV, C];
    case 'wo': return [C, Q];
    case 'w1': case 'w3': case 'fc_w': return [H, C];
    case 'w2': case 'proj_w': return [C, H];
    default: throw new ConfigError(`no block matrix named '${base}'`);
  }
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const headSize = (c: ModelConfig): number => c.dim / c.nHeads;
export const kvDim = (c: ModelConfig): number => (c.dim / c.nHeads) * c.nKvHeads;

/**
 * Upper bounds no real model reaches (the largest open models: width ~16k, ~130 layers, ~256k
 * vocabulary, ~1M context), so that a flipped header byte is refused here, by name, before any
 * table is sized from it.
 */
export const CONFIG_LIMITS = { dim: 1 << 17, nLayers: 1 << 12, nHeads: 1 << 12, nKvHeads: 1 << 12, hiddenDim: 1 << 19, vocabSize: 1 << 22, maxSeqLen: 1 << 22 } as const;

/** Throws a ConfigError naming the field when a config cannot describe a model. */
export function validateConfig(c: ModelConfig, source = 'config'): ModelConfig {
  const positive = ['dim', 'nLayers', 'nHeads', 'nKvHeads', 'hiddenDim', 'vocabSize', 'maxSeqLen'] as const;
  for (const k of positive) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new ConfigError(`${source}: ${k} must be a positive integer, got ${c[k]}`);
    if (c[k] > CONFIG_LIMITS[k]) throw new ConfigError(`${source}: ${k} ${c[k]} is beyond any real model (at most ${CONFIG_LIMITS[k]}); a corrupt header or a typo?`);
  }
  if (c.dim % c.nHeads !== 0) throw new ConfigError(`${source}: dim ${c.dim} is not divisible by nHeads ${c.nHeads}`);
  if (c.nHeads % c.nKvHeads !== 0) throw new ConfigError(`${source}: nHeads ${c.nHeads} is not divisible by nKvHeads ${c.nKvHeads}`);
  if (headSize(c) % 2 !== 0 && c.family === 'llama') throw new ConfigError(`${source}: head size ${headSize(c)} must be even for rotary embeddings`);
  if (c.family === 'gpt2' && c.nKvHeads !== c.nHeads) throw new ConfigError(`${source}: gpt2 needs nKvHeads == nHeads, got ${c.nKvHeads} vs ${c.nHeads}`);
  for (const [m, r] of Object.entries(c.lowRank ?? {})) {
    if (!(LOW_RANK_MATRICES[c.family] as readonly string[]).includes(m)) throw new ConfigError(`${source}: lowRank names '${m}'; the ${c.family} family factors ${LOW_RANK_MATRICES[c.family].join(', ')}`);
    const [O, I] = matrixDims(c, m);
    if (!Number.isInteger(r) || r! < 1 || r! >= Math.min(O, I)) throw new ConfigError(`${source}: lowRank.${m} must be an integer in [1, ${Math.min(O, I) - 1}] (below the rank of a ${O}×${I} matrix), got ${r}`);
  }
  if (!(c.normEps > 0)) throw new ConfigError(`${source}: normEps must be > 0, got ${c.normEps}`);
  return c;
}
