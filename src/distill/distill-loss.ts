// The training loss of distillation on full logits (the unfused path; the fused head loss is the
// engine's headLossForwardBackward): L = α·CE(labels) + (1−α)·KD(teacher), each a mean over the
// unmasked rows, in one gradient buffer — the backend's cross-entropy op, then its KD op adding
// (1−α)'s share. The loss terms themselves are engine ops; α/T are not scheduled here (pass
// scheduleValue(...) results in).

import type { Backend, LossTeacher } from '../engine/backend.js';
import type { Divergence } from '../engine/loss-kinds.js';
import { needRange } from './errors.js';

/** The teacher side of a batch, discriminated by form: none (hard labels only), dense logits or
 *  log-probs (N,V), or sparse top-k rows with their tail. */
export type TeacherRows = Exclude<LossTeacher, { kind: 'hidden' }>;

export interface DistillLossOptions {
  /** Weight of the hard-label CE in [0,1]; 1−α goes to KD. */
  alpha: number;
  divergence: Divergence;
  /** KD temperature (default 1); CE always uses T = 1. */
  temperature?: number;
  /** Multiply the KD loss and gradient by T² (default true, Hinton et al. 2015). */
  scaleT2?: boolean;
  /** Rows whose target equals this are masked in both terms. */
  ignoreIndex: number;
  /** Multiplies the gradient (not the reported losses), e.g. 1/microBatches. Default 1. */
  gradScale?: number;
  /** ref only: the KD op's vocabulary chunk (see Backend.kdForwardBackward). */
  chunk?: number;
}

export interface DistillLossResult { loss: number; ce: number; kd: number; count: number }

/** Per-row scratch of the CE op: its log-sum-exp and the gradient of each row's loss (N each). */
export interface DistillLossScratch { lse: Float32Array; dLosses: Float32Array }

export function createDistillLossScratch(N: number): DistillLossScratch {
  return { lse: new Float32Array(N), dLosses: new Float32Array(N) };
}

/**
 * student (N,V) logits, teacher rows, targets (N) i32 -> rowCe (N), rowKd (N) (per-row values,
 * KD × T² when scaleT2; 0 on masked rows and for teacher 'none'), dStudent (N,V) or null
 * overwritten with gradScale · d(α·mean CE + (1−α)·mean KD)/dz. All rows masked -> every value 0.
 */
export function distillLossForwardBackward(
  be: Backend, dStudent: Float32Array | null, rowCe: Float32Array, rowKd: Float32Array, student: Float32Array,
  teacher: TeacherRows, targets: Int32Array, N: number, V: number, options: DistillLossOptions,
  scratch: DistillLossScratch = createDistillLossScratch(N),
): DistillLossResult {
  const { alpha, ignoreIndex } = options;
  needRange('distillLossForwardBackward', 'alpha', alpha, 0, 1);
  const gradScale = options.gradScale ?? 1;
  be.crossEntropyForward(rowCe, scratch.lse, student, targets, N, V, ignoreIndex);
  let count = 0, ceSum = 0;
  for (let i = 0; i < N; i++) if (targets[i] !== ignoreIndex) { count++; ceSum += rowCe[i]; }
  const ce = count > 0 ? ceSum / count : 0;
  if (dStudent) {
    for (let i = 0; i < N; i++) scratch.dLosses[i] = targets[i] !== ignoreIndex ? (alpha * gradScale) / count : 0;
    be.crossEntropyBackward(dStudent, scratch.dLosses, student, scratch.lse, targets, N, V, ignoreIndex);
  }
  let kd = 0;
  if (teacher.kind === 'none') rowKd.fill(0, 0, N);
  else {
    kd = be.kdForwardBackward({
      dStudent, rowLosses: rowKd, student, teacher, targets, N, V, divergence: options.divergence,
      temperature: options.temperature ?? 1, scaleT2: options.scaleT2 ?? true, ignoreIndex,
      gradScale: (1 - alpha) * gradScale, accumulate: true, chunk: options.chunk,
    }).loss;
  }
  return { loss: alpha * ce + (1 - alpha) * kd, ce, kd, count };
}
