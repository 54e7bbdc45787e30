// KD loss over SPARSE teacher rows (top-k ids + log-probs + tail mass, as src/distill/logit-processing.ts
// writes them): forward value per row and the gradient of the mean loss w.r.t. the student
// logits. Dense-only: `mse` (needs teacher logits). It does not truncate or process the teacher.

import { EngineError, type LossResult } from '../backend.js';
import { TAIL_MODES, type TailMode } from '../loss-kinds.js';
import { needLen, needSizes } from './check.js';
import { elementTerm } from './divergences.js';
import { resolveKdOptions, type KdOptions } from './kd-options.js';
import { countUnmasked, logAddExp, rowLogSumExp } from './row-walk.js';

/** Per row up to k entries: ids (N,k) i32 (-1 = empty slot), logProbs (N,k) f32 (teacher
 *  log-probabilities; empty slots ignored), tail (N) f32 = teacher mass outside the ids.
 *  For 'bucket' and 'uniform', Σ exp(logProbs) + tail must be 1 (±1e-3). */
export interface SparseTeacher { ids: Int32Array; logProbs: Float32Array; tail: Float32Array; k: number; tailMode: TailMode }

/** Σ exp(lp) + tail tolerance: f32 storage of k log-probs stays far inside it; a wrong tail does not. */
const MASS_TOL = 1e-3;

/**
 * student (N,V) f32 logits, teacher sparse (see SparseTeacher), targets (N) i32 or null
 *   -> rowLosses (N), dStudent (N,V) or null; same contract as kdDenseForwardBackward.
 * The student is softmax(z/T) over V; the teacher log-probs are used as given (T not applied).
 */
export function kdSparseForwardBackward(
  dStudent: Float32Array | null, rowLosses: Float32Array, student: Float32Array, teacher: SparseTeacher,
  targets: Int32Array | null, N: number, V: number, options: KdOptions,
): LossResult {
  const op = 'kdSparseForwardBackward';
  const k = teacher.k;
  needSizes(op, { N, V, k });
  needLen(op, 'student', student, N * V);
  needLen(op, 'teacher.ids', teacher.ids, N * k);
  needLen(op, 'teacher.logProbs', teacher.logProbs, N * k);
  needLen(op, 'teacher.tail', teacher.tail, N);
  needLen(op, 'rowLosses', rowLosses, N);
  if (dStudent) needLen(op, 'dStudent', dStudent, N * V);
  if (targets) needLen(op, 'targets', targets, N);
  const mode = teacher.tailMode;
  if (!TAIL_MODES.some((t) => t.name === mode)) throw new EngineError(`${op}: teacher.tailMode must be one of ${TAIL_MODES.map((t) => `'${t.name}'`).join(', ')}, got '${String(mode)}'`);
  const o = resolveKdOptions(op, options);
  const term = elementTerm(op, options.divergence);
  const count = countUnmasked(targets, N, o.ignoreIndex);
  const factor = count > 0 ? (o.gradScale * o.lossScale * o.invT) / count : 0;
  const slot = new Int32Array(V).fill(-1); // one row's id -> entry map, reset after each row
  const fh = new Float64Array(2);
  let total = 0;
  for (let i = 0; i < N; i++) {
    const base = i * V, kb = i * k;
    if (targets && targets[i] === o.ignoreIndex) {
      rowLosses[i] = 0;
      if (dStudent && !o.accumulate) dStudent.fill(0, base, base + V);
      continue;
    }
    let kept = 0, lpSum = -Infinity;
    for (let e = 0; e < k; e++) {
      const id = teacher.ids[kb + e];
      if (id < 0) continue;
      if (id >= V) throw new EngineError(`${op}: teacher.ids[${i},${e}] = ${id} is outside [0, V=${V})`);
      if (slot[id] >= 0) throw new EngineError(`${op}: teacher.ids row ${i} repeats id ${id}`);
      slot[id] = e; kept++;
      lpSum = logAddExp(lpSum, teacher.logProbs[kb + e]);
    }
    const tail = teacher.tail[i];
    if (!(tail >= 0)) throw new EngineError(`${op}: teacher.tail[${i}] = ${tail} must be >= 0`);
    if (mode !== 'ignore' && Math.abs(Math.exp(lpSum) + tail - 1) > MASS_TOL) {
      throw new EngineError(`${op}: row ${i}: Σ exp(logProbs) + tail = ${Math.exp(lpSum) + tail}, not 1; tail mode '${mode}' needs the unrenormalized top-k (processTeacherLogitsSparse with tailBucket: true)`);
    }
    const lse = rowLogSumExp(student, base, V, o.invT, o.chunk);
    let L = 0, S = 0;
    if (mode === 'ignore') {
      let lseK = -Infinity;
      for (let e = 0; e < k; e++) { const id = teacher.ids[kb + e]; if (id >= 0) lseK = logAddExp(lseK, student[base + id] * o.invT); }
      for (let e = 0; e < k; e++) {
        const id = teacher.ids[kb + e]; if (id < 0) continue;
        const lp = teacher.logProbs[kb + e] - lpSum, lq = student[base + id] * o.invT - lseK;
        term(Math.exp(lp), lp, Math.exp(lq), lq, fh); L += fh[0]; S += fh[1];
      }
      if (dStudent) {
        if (!o.accumulate) dStudent.fill(0, base, base + V);
        for (let e = 0; e < k; e++) {
          const id = teacher.ids[kb + e]; if (id < 0) continue;
          const lp = teacher.logProbs[kb + e] - lpSum, lq = student[base + id] * o.invT - lseK, q = Math.exp(lq);
          term(Math.exp(lp), lp, q, lq, fh);
          dStudent[base + id] += factor * (fh[1] - q * S);
        }
      }
    } else if (mode === 'bucket') {
      let lseOut = -Infinity; // log Σ over ids not kept (chunked like the full row)
      for (let c0 = 0; c0 < V; c0 += o.chunk) {
        const c1 = Math.min(V, c0 + o.chunk);
        for (let j = c0; j < c1; j++) if (slot[j] < 0) lseOut = logAddExp(lseOut, student[base + j] * o.invT);
      }
      for (let e = 0; e < k; e++) {
        const id = teacher.ids[kb + e]; if (id < 0) continue;
        const lp = teacher.logProbs[kb + e], lq = student[base + id] * o.invT - lse;
        term(Math.exp(lp), lp, Math.exp(lq), lq, fh); L += fh[0]; S += fh[1];
      }
      const lqT = lseOut - lse, qT = Math.exp(lqT);
      term(tail, Math.log(tail), qT, lqT, fh); L += fh[0]; S += fh[1];
      const gTail = qT > 0 ? fh[1] / qT : 0; // ∂f/∂q_tail, shared by every id in the bucket
      if (dStudent) {
        for (let j = 0; j < V; j++) {
          const lq = student[base + j] * o.invT - lse, q = Math.exp(lq), e = slot[j];
          let d: number;
          if (e >= 0) { const lp = teacher.logProbs[kb + e]; term(Math.exp(lp), lp, q, lq, fh); d = factor * (fh[1] - q * S); }
          else d = factor * q * (gTail - S);
          dStudent[base + j] = o.accumulate ? dStudent[base + j] + d : d;
        }
      }
    } else {
      const others = V - kept;
      const pU = others > 0 ? tail / others : 0, lpU = Math.log(pU);
      for (let j = 0; j < V; j++) {
        const e = slot[j], lp = e >= 0 ? teacher.logProbs[kb + e] : lpU, p = e >= 0 ? Math.exp(lp) : pU;
        const lq = student[base + j] * o.invT - lse;
        term(p, lp, Math.exp(lq), lq, fh); L += fh[0]; S += fh[1];
      }
      if (dStudent) {
        for (let j = 0; j < V; j++) {
          const e = slot[j], lp = e >= 0 ? teacher.logProbs[kb + e] : lpU, p = e >= 0 ? Math.exp(lp) : pU;
          const lq = student[base + j] * o.invT - lse, q = Math.exp(lq);
          term(p, lp, q, lq, fh);
          const d = factor * (fh[1] - q * S);
          dStudent[base + j] = o.accumulate ? dStudent[base + j] + d : d;
        }
      }
    }
    for (let e = 0; e < k; e++) { const id = teacher.ids[kb + e]; if (id >= 0) slot[id] = -1; }
    rowLosses[i] = o.lossScale * L;
    total += o.lossScale * L;
  }
  return { loss: count > 0 ? total / count : 0, count };
}
