// Picks the next token from one row of logits: greedy (temperature 0), or sampling with
// temperature, top-k and top-p (nucleus), one uniform draw from a seeded Rng; the arithmetic over
// the vocabulary is the engine's (Backend.sampleRows). It does not run the model (generate.ts).

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
  /** One row's id and uniform draw, for Backend.sampleRows. */
  out: Int32Array;
  uniform: Float64Array;
}

export function createSamplerScratch(V: number): SamplerScratch {
  return { V, out: new Int32Array(1), uniform: new Float64Array(1) };
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

/** The next token id for logits `row` (V), by the engine's sampleRows. Consumes one rng draw unless greedy. */
export function sampleToken(be: Backend, row: Float32Array, o: SamplingOptions, rng: Rng, s: SamplerScratch): number {
  const V = row.length;
  if (V !== s.V) throw new ModelError(`sampleToken: logits row has ${V} entries, scratch was made for ${s.V}`);
  const temperature = o.temperature ?? 1;
  s.uniform[0] = temperature <= 0 ? 0 : rng.nextFloat();
  be.sampleRows(s.out, row, 1, V, temperature, o.topK ?? 0, o.topP ?? 1, s.uniform);
  return s.out[0];
}
