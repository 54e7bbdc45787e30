// Reference fused output head + distillation loss: rows walked in chunks, each chunk composed of
// the reference GEMMs, the cross-entropy op and the KD op with weights α and 1−α (the spec of the
// fused op; none of the loss math is restated here). Slow by design; it allocates per call.
import { EngineError, type HeadLossArgs, type HeadLossResult, type HeadLossTeacher, type KdTeacher } from '../backend.js';
import { needLen, needRange, needSizes } from './check.js';
import { crossEntropyBackward, crossEntropyForward } from './cross-entropy.js';
import { kdForwardBackward } from './kd.js';
import { gemm } from './gemm.js';
import { gemmBf16, REF_BF16_LAYOUT } from './bf16.js';
import { checkBf16Weight } from '../bf16-weight.js';

/** Logits per chunk the default chunk size aims for: 8M floats (32 MiB; 262 rows at V = 32000):
 *  an eighth of N·V at the issue-5 shapes (N = 2048), while chunks of that many rows keep the
 *  re-packing of the (V,C) head per chunk small (measured: 256-row chunks ~8% faster than 128). */
export const HEAD_LOSS_CHUNK_FLOATS = 1 << 23;

/** Rows per chunk: options.chunkRows, else HEAD_LOSS_CHUNK_FLOATS / V, at least 16, at most N. */
export function headLossChunkRows(N: number, V: number, chunkRows?: number): number {
  if (chunkRows !== undefined && (!Number.isInteger(chunkRows) || chunkRows < 1)) {
    throw new EngineError(`headLossForwardBackward: option 'chunkRows' must be a positive integer, got ${chunkRows}`);
  }
  const r = chunkRows ?? Math.max(16, Math.floor(HEAD_LOSS_CHUNK_FLOATS / Math.max(V, 1)));
  return Math.max(1, Math.min(r, N));
}

/** The teacher rows [r0, r0+n) as the KD op takes them; `tBuf` receives a hidden teacher's logits. */
function teacherChunk(t: HeadLossTeacher, tBuf: Float32Array, r0: number, n: number, V: number): KdTeacher | null {
  switch (t.kind) {
    case 'none': return null;
    case 'logits': return { kind: 'logits', logits: t.logits.subarray(r0 * V, (r0 + n) * V) };
    case 'logprobs': return { kind: 'logprobs', logProbs: t.logProbs.subarray(r0 * V, (r0 + n) * V) };
    case 'hidden':
      if (t.weightBf16) gemmBf16(tBuf, t.hidden.subarray(r0 * t.C, (r0 + n) * t.C), t.weightBf16, n, V, 0);
      else gemm(tBuf, t.hidden.subarray(r0 * t.C, (r0 + n) * t.C), t.weight, n, V, t.C, false, true, 1, 0);
      return { kind: 'logits', logits: tBuf.subarray(0, n * V) };
    case 'sparse': return {
      kind: 'sparse', k: t.k, tailMode: t.tailMode, ids: t.ids.subarray(r0 * t.k, (r0 + n) * t.k),
      logProbs: t.logProbs.subarray(r0 * t.k, (r0 + n) * t.k), tail: t.tail.subarray(r0, r0 + n),
    };
    default: {
      const never: never = t;
      throw new EngineError(`headLossForwardBackward: unknown teacher kind '${(never as { kind: string }).kind}'`);
    }
  }
}

function checkTeacher(op: string, t: HeadLossTeacher, N: number, V: number): void {
  if (t.kind === 'logits') needLen(op, 'teacher.logits', t.logits, N * V);
  else if (t.kind === 'logprobs') needLen(op, 'teacher.logProbs', t.logProbs, N * V);
  else if (t.kind === 'hidden') {
    needSizes(op, { 'teacher.C': t.C });
    needLen(op, 'teacher.hidden', t.hidden, N * t.C);
    needLen(op, 'teacher.weight', t.weight, V * t.C);
    if (t.weightBf16) {
      checkBf16Weight(op, REF_BF16_LAYOUT, t.weightBf16, V);
      if (t.weightBf16.K !== t.C) throw new RangeError(`${op}: teacher.weightBf16 has K = ${t.weightBf16.K}, teacher.C is ${t.C}`);
    }
  } else if (t.kind === 'sparse') {
    needSizes(op, { 'teacher.k': t.k });
    needLen(op, 'teacher.ids', t.ids, N * t.k);
    needLen(op, 'teacher.logProbs', t.logProbs, N * t.k);
    needLen(op, 'teacher.tail', t.tail, N);
  }
}

/** See Backend.headLossForwardBackward. */
export function headLossForwardBackward(args: HeadLossArgs): HeadLossResult {
  const { dHidden, dWeight, rowCe, rowKd, hidden, weight, teacher, targets, N, V, C } = args;
  const { alpha, divergence, temperature, scaleT2, ignoreIndex, gradScale } = args;
  const op = 'headLossForwardBackward';
  needSizes(op, { N, V, C });
  needLen(op, 'dHidden', dHidden, N * C); needLen(op, 'dWeight', dWeight, V * C);
  needLen(op, 'rowCe', rowCe, N); needLen(op, 'rowKd', rowKd, N);
  needLen(op, 'hidden', hidden, N * C); needLen(op, 'weight', weight, V * C);
  needLen(op, 'targets', targets, N);
  needRange(op, 'alpha', alpha, 0, 1);
  checkTeacher(op, teacher, N, V);
  let count = 0;
  for (let i = 0; i < N; i++) {
    const y = targets[i];
    if (y === ignoreIndex) continue;
    if (!(y >= 0 && y < V)) throw new EngineError(`${op}: targets[${i}] = ${y} is outside [0, ${V}) and is not ignoreIndex (${ignoreIndex})`);
    count++;
  }
  dHidden.fill(0, 0, N * C);
  const R = headLossChunkRows(N, V, args.chunkRows);
  const logits = new Float32Array(R * V), dLog = new Float32Array(R * V);
  const lse = new Float32Array(R), dLosses = new Float32Array(R);
  const tBuf = new Float32Array(teacher.kind === 'hidden' ? R * V : 0);
  for (let r0 = 0; r0 < N; r0 += R) {
    const n = Math.min(R, N - r0);
    const lg = logits.subarray(0, n * V), dl = dLog.subarray(0, n * V);
    const h = hidden.subarray(r0 * C, (r0 + n) * C), tg = targets.subarray(r0, r0 + n);
    const ce = rowCe.subarray(r0, r0 + n), kd = rowKd.subarray(r0, r0 + n);
    gemm(lg, h, weight, n, V, C, false, true, 1, 0);
    // α·CE: the gradient of the mean over all N rows' unmasked ones, times gradScale
    crossEntropyForward(ce, lse, lg, tg, n, V, ignoreIndex);
    let chunkCount = 0;
    for (let i = 0; i < n; i++) {
      const live = tg[i] !== ignoreIndex;
      dLosses[i] = live ? (alpha * gradScale) / count : 0;
      if (live) chunkCount++;
    }
    crossEntropyBackward(dl, dLosses, lg, lse, tg, n, V, ignoreIndex);
    // (1−α)·KD added to it: the KD op's gradient is of the chunk's mean, rescaled to all N rows
    const rows = teacherChunk(teacher, tBuf, r0, n, V);
    if (rows) {
      kdForwardBackward({
        dStudent: dl, rowLosses: kd, student: lg, teacher: rows, targets: tg, N: n, V, divergence, temperature, scaleT2,
        ignoreIndex, gradScale: chunkCount > 0 ? ((1 - alpha) * gradScale * chunkCount) / count : 0, accumulate: true,
      });
    } else kd.fill(0);
    if (chunkCount === 0) continue; // dLogits are all zero: dHidden stays 0, dWeight unchanged
    gemm(dHidden.subarray(r0 * C, (r0 + n) * C), dl, weight, n, C, V, false, false, 1, 0);
    gemm(dWeight, dl, h, V, C, n, true, false, 1, 1);
  }
  let ceSum = 0, kdSum = 0;
  for (let i = 0; i < N; i++) { ceSum += rowCe[i]; kdSum += rowKd[i]; }
  const ce = count > 0 ? ceSum / count : 0, kd = count > 0 ? kdSum / count : 0;
  return { loss: alpha * ce + (1 - alpha) * kd, ce, kd, count };
}
