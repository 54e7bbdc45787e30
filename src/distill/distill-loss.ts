// The training loss of distillation: L = α·CE(labels) + (1−α)·KD(teacher), each a mean over the
// unmasked rows, with one gradient buffer for the student logits. It dispatches to the kernels
// by teacher kind; it does not schedule α/T (pass scheduleValue(...) results in).

import { DistillError, needRange } from './errors.js';
import { hardCeForwardBackward } from './hard-ce.js';
import { kdDenseForwardBackward } from './kd-dense.js';
import type { KdOptions } from './kd-options.js';
import { kdSparseForwardBackward, type SparseTeacher } from './kd-sparse.js';

/** The teacher side of a batch, discriminated by form. */
export type TeacherRows =
  | { kind: 'logits'; logits: Float32Array }        // (N,V) raw logits; divided by T
  | { kind: 'logprobs'; logProbs: Float32Array }    // (N,V) processed log-probs; used as given
  | ({ kind: 'sparse' } & SparseTeacher);           // top-k ids + log-probs + tail

export interface DistillLossOptions extends Omit<KdOptions, 'gradScale' | 'accumulate'> {
  /** Weight of the hard-label CE; 1−α goes to KD. */
  alpha: number;
}

export interface DistillLossResult { loss: number; ce: number; kd: number; count: number }

/**
 * student (N,V) logits, teacher rows, targets (N) i32 -> rowCe (N), rowKd (N) (per-row values,
 * KD × T² when scaleT2), dStudent (N,V) or null overwritten with d(α·mean CE + (1−α)·mean KD)/dz.
 * Rows with target = ignoreIndex are masked in both terms; all masked -> every value 0.
 */
export function distillLossForwardBackward(
  dStudent: Float32Array | null, rowCe: Float32Array, rowKd: Float32Array, student: Float32Array,
  teacher: TeacherRows, targets: Int32Array, N: number, V: number, options: DistillLossOptions,
): DistillLossResult {
  const op = 'distillLossForwardBackward';
  needRange(op, 'alpha', options.alpha, 0, 1);
  const { alpha, ...kdOpts } = options;
  const ce = hardCeForwardBackward(dStudent, rowCe, student, targets, N, V,
    { ignoreIndex: kdOpts.ignoreIndex, chunk: kdOpts.chunk, gradScale: alpha, accumulate: false });
  const kdOptions: KdOptions = { ...kdOpts, gradScale: 1 - alpha, accumulate: true };
  let kd;
  switch (teacher.kind) {
    case 'logits': kd = kdDenseForwardBackward(dStudent, rowKd, student, teacher.logits, 'logits', targets, N, V, kdOptions); break;
    case 'logprobs': kd = kdDenseForwardBackward(dStudent, rowKd, student, teacher.logProbs, 'logprobs', targets, N, V, kdOptions); break;
    case 'sparse': kd = kdSparseForwardBackward(dStudent, rowKd, student, teacher, targets, N, V, kdOptions); break;
    default: {
      const never: never = teacher;
      throw new DistillError(`${op}: unknown teacher kind '${(never as { kind: string }).kind}'`);
    }
  }
  return { loss: alpha * ce.loss + (1 - alpha) * kd.loss, ce: ce.loss, kd: kd.loss, count: ce.count };
}
