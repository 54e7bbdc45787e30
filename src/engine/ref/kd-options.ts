// Options of the reference KD kernels (temperature, T² scaling, masking, vocabulary chunk,
// gradient scale/accumulate) and their validation into one resolved record. No math here.

import type { Divergence } from '../loss-kinds.js';
import { needRange } from './check.js';

export interface KdOptions {
  divergence: Divergence;
  /** Both distributions come from logits/T (a sparse/log-prob teacher is taken as given). 1 = plain softmax. */
  temperature?: number;
  /** Multiply loss and gradient by T² (Hinton et al. 2015) so gradient size does not shrink with T. Default true. */
  scaleT2?: boolean;
  /** Rows whose target equals this are masked (loss 0, gradient 0). */
  ignoreIndex: number;
  /** Vocabulary chunk for the online log-sum-exp walk. Default 4096: a few pages of f32, cache-sized. */
  chunk?: number;
  /** Multiplies the gradient (not the loss); the α mix passes (1−α)·its scale. Default 1. */
  gradScale?: number;
  /** false (default): dStudent is overwritten, per the activation-gradient rule; true: added to
   *  (the α mix sums the CE and KD gradients into one buffer). */
  accumulate?: boolean;
}

export interface ResolvedKdOptions {
  T: number; invT: number; lossScale: number; ignoreIndex: number; chunk: number; gradScale: number; accumulate: boolean;
}

export function resolveKdOptions(op: string, o: Omit<KdOptions, 'divergence'>): ResolvedKdOptions {
  const T = o.temperature ?? 1;
  if (!(T > 0) || !Number.isFinite(T)) throw new RangeError(`${op}: option 'temperature' must be a positive finite number, got ${T}`);
  const chunk = o.chunk ?? 4096;
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`${op}: option 'chunk' must be a positive integer, got ${chunk}`);
  const gradScale = o.gradScale ?? 1;
  needRange(op, 'gradScale', gradScale, -1e30, 1e30);
  if (!Number.isInteger(o.ignoreIndex)) throw new RangeError(`${op}: option 'ignoreIndex' must be an integer, got ${o.ignoreIndex}`);
  const scaleT2 = o.scaleT2 ?? true;
  return {
    T, invT: 1 / T, lossScale: scaleT2 ? T * T : 1, ignoreIndex: o.ignoreIndex, chunk, gradScale,
    accumulate: o.accumulate ?? false,
  };
}
