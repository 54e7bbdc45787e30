// Activation importance of a model's width, measured on calibration windows (Minitron, Muralidharan
// et al. 2024, section 2.2): embedding channels by the mean |output| of every norm that feeds a
// block (summed over blocks), attention heads by the mean L2 norm of their output, KV groups by
// the sum of their query heads', FFN channels by the mean |SwiGLU output|. It prunes nothing
// (shrink-width.ts does) and reads no text (callers pass token ids).
import type { Backend } from '../engine/backend.js';
import { headSize } from './config.js';
import { createActivations } from './activations.js';
import { forwardToHidden } from './forward.js';
import type { Model } from './model.js';
import { ModelError } from './errors.js';

/** Importance scores, higher = keep; saved as JSON next to a shrunk checkpoint. */
export interface ImportanceTable {
  /** Embedding (residual) channels (C). */
  channels: number[];
  /** Per layer, per query head (L, NH). */
  heads: number[][];
  /** Per layer, per KV group (L, NKV): the sum of the group's query heads. */
  kvGroups: number[][];
  /** Per layer, per FFN channel (L, H). */
  ffn: number[][];
  /** Calibration windows and tokens measured. */
  windows: number;
  tokens: number;
}

/**
 * Scores `model`'s width over `windows` (W, T) token ids, B windows per forward. Llama family
 * only (the gpt2 family is refused: no width pruning for it yet).
 */
export function measureImportance(be: Backend, model: Model, windows: Int32Array, T: number, B = 8): ImportanceTable {
  const c = model.config;
  if (c.family !== 'llama') throw new ModelError(`width importance: the ${c.family} family is not supported (llama only)`);
  const W = Math.floor(windows.length / T);
  if (W < 1) throw new ModelError(`width importance: need at least one calibration window of ${T} tokens, got ${windows.length} tokens`);
  const C = c.dim, H = c.hiddenDim, L = c.nLayers, NH = c.nHeads, HS = headSize(c), NKV = c.nKvHeads;
  const channels = new Float64Array(C);
  const heads = Array.from({ length: L }, () => new Float64Array(NH));
  const ffn = Array.from({ length: L }, () => new Float64Array(H));
  const Bc = Math.min(B, W);
  const acts = createActivations(c, Bc, T, { headLogits: false });
  let rows = 0;
  for (let w0 = 0; w0 < W; w0 += Bc) {
    const b = Math.min(Bc, W - w0), N = b * T;
    forwardToHidden(be, model, acts, windows.subarray(w0 * T, (w0 + b) * T), b, T);
    for (let l = 0; l < L; l++) {
      const la = acts.layers[l];
      for (let i = 0; i < N; i++) {
        for (let ch = 0; ch < C; ch++) channels[ch] += Math.abs(la.h1[i * C + ch]) + Math.abs(la.h2[i * C + ch]);
        for (let h = 0; h < NH; h++) {
          let s = 0;
          for (let d = 0; d < HS; d++) { const v = la.att[i * NH * HS + h * HS + d]; s += v * v; }
          heads[l][h] += Math.sqrt(s);
        }
        for (let j = 0; j < H; j++) ffn[l][j] += Math.abs(la.act[i * H + j]);
      }
    }
    rows += N;
  }
  const mean = (a: Float64Array) => Array.from(a, (v) => v / rows);
  const headMeans = heads.map(mean);
  const group = NH / NKV;
  return {
    channels: mean(channels), heads: headMeans,
    kvGroups: headMeans.map((hs) => Array.from({ length: NKV }, (_, g) => hs.slice(g * group, (g + 1) * group).reduce((a, v) => a + v, 0))),
    ffn: ffn.map(mean), windows: W, tokens: rows,
  };
}

/** The indices of the k highest scores, ascending (ties: the lower index). */
export function topIndices(scores: readonly number[], k: number): number[] {
  return scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k).map(([, i]) => i).sort((a, b) => a - b);
}
