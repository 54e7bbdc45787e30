// KD loss over DENSE teacher rows: forward value per row and the gradient of the mean loss
// w.r.t. the student logits, walking V with an online log-sum-exp (no (N,V) probability array).
// It does not process the teacher (src/distill/logit-processing.ts does) nor handle sparse top-k teachers.

import type { LossResult } from '../backend.js';
import { needLen, needSizes } from './check.js';
import { elementTerm } from './divergences.js';
import { resolveKdOptions, type KdOptions } from './kd-options.js';
import { countUnmasked, rowLogSumExp } from './row-walk.js';

/** What the dense teacher array holds: raw `logits` (divided by T like the student) or
 *  processed `logprobs` (from processTeacherLogitsDense: used as given, T not applied again). */
export type DenseTeacherKind = 'logits' | 'logprobs';

/**
 * student (N,V) f32 logits, teacher (N,V) f32, targets (N) i32 or null (no mask)
 *   -> rowLosses (N): per-row KD loss (× T² when scaleT2; 0 on masked rows),
 *      dStudent (N,V) or null: gradient of mean(rowLosses over unmasked rows) w.r.t. student,
 *      times gradScale; overwritten (or += when accumulate); masked rows get 0.
 * Returns { loss: mean over unmasked rows, count }; all rows masked -> loss 0, gradient 0.
 * Per-row value, with s = z_S/T, t = z_T/T, p_S = softmax(s), p_T = softmax(t) (or the given
 * log-probs): Σ_j f(p_T[j], p_S[j]) for the divergence; mse: (1/V) Σ_j (s_j − t_j)².
 */
export function kdDenseForwardBackward(
  dStudent: Float32Array | null, rowLosses: Float32Array, student: Float32Array, teacher: Float32Array,
  teacherKind: DenseTeacherKind, targets: Int32Array | null, N: number, V: number, options: KdOptions,
): LossResult {
  const op = 'kdDenseForwardBackward';
  needSizes(op, { N, V });
  needLen(op, 'student', student, N * V);
  needLen(op, 'teacher', teacher, N * V);
  needLen(op, 'rowLosses', rowLosses, N);
  if (dStudent) needLen(op, 'dStudent', dStudent, N * V);
  if (targets) needLen(op, 'targets', targets, N);
  const o = resolveKdOptions(op, options);
  const isMse = options.divergence.kind === 'mse';
  const term = isMse ? null : elementTerm(op, options.divergence);
  const tScale = teacherKind === 'logprobs' ? 1 : o.invT;
  const count = countUnmasked(targets, N, o.ignoreIndex);
  // d(mean)/dz = lossScale/count · (1/T) · dL_i/ds
  const factor = count > 0 ? (o.gradScale * o.lossScale * o.invT) / count : 0;
  const fh = new Float64Array(2);
  let total = 0;
  for (let i = 0; i < N; i++) {
    const base = i * V;
    if (targets && targets[i] === o.ignoreIndex) {
      rowLosses[i] = 0;
      if (dStudent && !o.accumulate) dStudent.fill(0, base, base + V);
      continue;
    }
    let L = 0;
    if (isMse) {
      for (let j = 0; j < V; j++) { const d = (student[base + j] - teacher[base + j]) * o.invT; L += d * d; }
      L /= V;
      if (dStudent) {
        const g = (factor * 2) / V;
        for (let j = 0; j < V; j++) {
          const d = g * (student[base + j] - teacher[base + j]) * o.invT;
          dStudent[base + j] = o.accumulate ? dStudent[base + j] + d : d;
        }
      }
    } else {
      const lseS = rowLogSumExp(student, base, V, o.invT, o.chunk);
      const lseT = rowLogSumExp(teacher, base, V, tScale, o.chunk);
      let S = 0; // Σ_j h_j, the softmax-projection term
      for (let j = 0; j < V; j++) {
        const lq = student[base + j] * o.invT - lseS, lp = teacher[base + j] * tScale - lseT;
        term!(Math.exp(lp), lp, Math.exp(lq), lq, fh);
        L += fh[0]; S += fh[1];
      }
      if (dStudent) {
        // dL/ds_j = h_j − q_j·S (h recomputed: no row of h is stored)
        for (let j = 0; j < V; j++) {
          const lq = student[base + j] * o.invT - lseS, lp = teacher[base + j] * tScale - lseT;
          const q = Math.exp(lq);
          term!(Math.exp(lp), lp, q, lq, fh);
          const d = factor * (fh[1] - q * S);
          dStudent[base + j] = o.accumulate ? dStudent[base + j] + d : d;
        }
      }
    }
    rowLosses[i] = o.lossScale * L;
    total += o.lossScale * L;
  }
  return { loss: count > 0 ? total / count : 0, count };
}
