// Options shared by the KD and CE loss kernels (temperature, T² scaling, masking, chunking,
// gradient scale/accumulate) and their validation into one resolved record. No math here.

import type { KdDivergence } from './divergences.js';
import { DistillError, needRange } from './errors.js';

export interface KdOptions {
  divergence: KdDivergence;
  /** Both distributions come from logits/T (a sparse/log-prob teacher is taken as given). 1 = plain softmax. */
  temperature?: number;
  /** Multiply loss and gradient by T² (Hinton et al. 2015) so gradient size does not shrink with T. Default true. */
  scaleT2?: boolean;
  /** Rows whose target equals this are masked (loss 0, gradient 0). Default -100, PyTorch's. */
  ignoreIndex?: number;
  /** Vocabulary chunk for the online log-sum-exp walk. Default 4096: a few pages of f32, cache-sized. */
  chunk?: number;
  /** Multiplies the gradient (not the loss); the α mix passes α or 1−α. Default 1. */
  gradScale?: number;
  /** false (default): dStudent is overwritten, per the activation-gradient rule; true: added to
   *  (only the α mix uses this, to sum CE and KD gradients into one buffer). */
  accumulate?: boolean;
}

export interface ResolvedKdOptions {
  T: number; invT: number; lossScale: number; ignoreIndex: number; chunk: number; gradScale: number; accumulate: boolean;
}

export function resolveKdOptions(op: string, o: Omit<KdOptions, 'divergence'>): ResolvedKdOptions {
  const T = o.temperature ?? 1;
  if (!(T > 0) || !Number.isFinite(T)) throw new DistillError(`${op}: option 'temperature' must be a positive finite number, got ${T}`);
  const chunk = o.chunk ?? 4096;
  if (!Number.isInteger(chunk) || chunk < 1) throw new DistillError(`${op}: option 'chunk' must be a positive integer, got ${chunk}`);
  const gradScale = o.gradScale ?? 1;
  needRange(op, 'gradScale', gradScale, -1e30, 1e30);
  const scaleT2 = o.scaleT2 ?? true;
  return {
    T, invT: 1 / T, lossScale: scaleT2 ? T * T : 1, ignoreIndex: o.ignoreIndex ?? -100, chunk, gradScale,
    accumulate: o.accumulate ?? false,
  };
}

/** The result of a loss call: mean over unmasked rows (0 when all are masked) and that count. */
export interface LossResult { loss: number; count: number }
