// Picks the next token from one row of logits: greedy (temperature 0), or sampling with
// temperature, top-k and top-p (nucleus) from a seeded Rng. Scratch is sized once per vocabulary.
// It does not run the model (generate.ts) and never changes the logits it reads.

import type { Backend } from '../engine/backend.js';
import type { Rng } from '../engine/rng.js';
import { ModelError } from './errors.js';

export interface SamplingOptions {
  /** 0 (or less) = greedy argmax. Default 1. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 = no limit. Default 0. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose mass reaches p; 1 = no limit. Default 1. */
  topP?: number;
}

export interface SamplerScratch {
  V: number;
  values: Float32Array;
  indices: Int32Array;
  probs: Float64Array;
}

export function createSamplerScratch(V: number): SamplerScratch {
  return { V, values: new Float32Array(V), indices: new Int32Array(V), probs: new Float64Array(V) };
}

/** Throws a ModelError naming the option when a value cannot be used. */
export function validateSampling(o: SamplingOptions): void {
  if (o.temperature !== undefined && !Number.isFinite(o.temperature)) throw new ModelError(`temperature must be a finite number, got ${o.temperature}`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0)) throw new ModelError(`topK must be a non-negative integer (0 = off), got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new ModelError(`topP must be in (0, 1], got ${o.topP}`);
}

/** Index of the largest value; ties go to the lower index (as topkForward). */
export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** The next token id for logits `row` (V). Consumes one rng draw unless greedy. */
export function sampleToken(be: Backend, row: Float32Array, o: SamplingOptions, rng: Rng, s: SamplerScratch): number {
  const V = row.length;
  if (V !== s.V) throw new ModelError(`sampleToken: logits row has ${V} entries, scratch was made for ${s.V}`);
  const temperature = o.temperature ?? 1;
  const topK = o.topK ?? 0;
  const topP = o.topP ?? 1;
  if (temperature <= 0) return argmax(row);

  // Candidates, sorted by logit descending when a cut needs the order.
  let n: number;
  if (topK > 0 && topK < V) {
    n = topK;
    be.topkForward(s.values.subarray(0, n), s.indices.subarray(0, n), row, 1, V, n);
  } else {
    n = V;
    for (let i = 0; i < V; i++) s.indices[i] = i;
    if (topP < 1) s.indices.sort((a, b) => (row[b] - row[a]) || (a - b));
    for (let i = 0; i < V; i++) s.values[i] = row[s.indices[i]];
  }
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (s.values[i] > max) max = s.values[i];
  let sum = 0;
  for (let i = 0; i < n; i++) { const e = Math.exp((s.values[i] - max) / temperature); s.probs[i] = e; sum += e; }
  if (topP < 1) {
    // Keep the shortest prefix (in descending order) whose probability reaches topP.
    let cum = 0, keep = 0;
    while (keep < n) { cum += s.probs[keep] / sum; keep++; if (cum >= topP) break; }
    n = keep;
    sum = 0;
    for (let i = 0; i < n; i++) sum += s.probs[i];
  }
  const r = rng.nextFloat() * sum;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += s.probs[i];
    if (r < acc) return s.indices[i];
  }
  return s.indices[n - 1]; // rounding: r landed at the very end
}
