// Hard-label cross-entropy of the student (the CE half of the α mix), with its gradient, over
// rows of logits walked with the chunked online log-sum-exp. No temperature: labels are hard.
// It is the distill-room twin of Backend.crossEntropy* (same math), plus mean/scale/accumulate.

import { DistillError, needLen, needSizes } from './errors.js';
import { resolveKdOptions, type KdOptions, type LossResult } from './kd-options.js';
import { countUnmasked, rowLogSumExp } from './row-walk.js';

export type HardCeOptions = Pick<KdOptions, 'ignoreIndex' | 'chunk' | 'gradScale' | 'accumulate'>;

/**
 * student (N,V) f32 logits, targets (N) i32 -> rowLosses (N) = lse(z_i) − z_i[y_i] (0 on rows
 * with y = ignoreIndex), dStudent (N,V) or null = gradScale · (softmax(z_i) − onehot(y_i)) / count
 * (gradient of the mean over unmasked rows); overwritten, or += when accumulate.
 * Returns { loss: mean over unmasked rows (0 if none), count }. Throws on y outside [0,V).
 */
export function hardCeForwardBackward(
  dStudent: Float32Array | null, rowLosses: Float32Array, student: Float32Array, targets: Int32Array,
  N: number, V: number, options: HardCeOptions = {},
): LossResult {
  const op = 'hardCeForwardBackward';
  needSizes(op, { N, V });
  needLen(op, 'student', student, N * V);
  needLen(op, 'targets', targets, N);
  needLen(op, 'rowLosses', rowLosses, N);
  if (dStudent) needLen(op, 'dStudent', dStudent, N * V);
  const o = resolveKdOptions(op, { ...options, temperature: 1, scaleT2: false });
  const count = countUnmasked(targets, N, o.ignoreIndex);
  const factor = count > 0 ? o.gradScale / count : 0;
  let total = 0;
  for (let i = 0; i < N; i++) {
    const base = i * V, y = targets[i];
    if (y === o.ignoreIndex) {
      rowLosses[i] = 0;
      if (dStudent && !o.accumulate) dStudent.fill(0, base, base + V);
      continue;
    }
    if (!Number.isInteger(y) || y < 0 || y >= V) throw new DistillError(`${op}: targets[${i}] = ${y} is outside [0, V=${V}) and is not ignoreIndex ${o.ignoreIndex}`);
    const lse = rowLogSumExp(student, base, V, 1, o.chunk);
    const L = lse - student[base + y];
    rowLosses[i] = L;
    total += L;
    if (dStudent) {
      for (let j = 0; j < V; j++) {
        const d = factor * (Math.exp(student[base + j] - lse) - (j === y ? 1 : 0));
        dStudent[base + j] = o.accumulate ? dStudent[base + j] + d : d;
      }
    }
  }
  return { loss: count > 0 ? total / count : 0, count };
}
