// Reference softmax cross-entropy over (N,V) logits with an ignore index, forward and backward:
// the hard-label half of every distillation loss (the α mix and the fused head loss use it).
// The forward walks V in chunks with the online log-sum-exp of row-walk.ts, the way the fused
// losses must; it never materializes probabilities. Sums are float64; losses and lse stored f32.
import { EngineError } from '../backend.js';
import { needLen, needSizes } from './check.js';
import { rowLogSumExp } from './row-walk.js';

/** Columns per chunk of the online log-sum-exp (any size gives the same lse up to rounding). */
export const CE_CHUNK = 128;

function checkCe(op: string, targets: Int32Array, N: number, V: number, ignoreIndex: number): void {
  needSizes(op, { N, V });
  if (V < 1 && N > 0) throw new RangeError(`${op}: vocabulary size V must be at least 1, got ${V}`);
  if (!Number.isInteger(ignoreIndex)) throw new RangeError(`${op}: ignoreIndex must be an integer, got ${ignoreIndex}`);
  needLen(op, 'targets', targets, N);
  for (let i = 0; i < N; i++) {
    const y = targets[i];
    if (y !== ignoreIndex && (y < 0 || y >= V)) {
      throw new EngineError(`${op}: targets[${i}] = ${y} is outside [0, ${V}) and is not ignoreIndex (${ignoreIndex})`);
    }
  }
}

/**
 * logits (N,V), targets (N) i32 -> losses (N), lse (N).
 * losses[i] = lse[i] - logits[i, targets[i]], or 0 when targets[i] == ignoreIndex (lse still written).
 */
export function crossEntropyForward(losses: Float32Array, lse: Float32Array, logits: Float32Array, targets: Int32Array,
                                    N: number, V: number, ignoreIndex: number): void {
  const op = 'crossEntropyForward';
  checkCe(op, targets, N, V, ignoreIndex);
  needLen(op, 'losses', losses, N); needLen(op, 'lse', lse, N); needLen(op, 'logits', logits, N * V);
  for (let i = 0; i < N; i++) {
    const row = logits.subarray(i * V, i * V + V);
    const l = rowLogSumExp(logits, i * V, V, 1, CE_CHUNK);
    lse[i] = l;
    losses[i] = targets[i] === ignoreIndex ? 0 : l - row[targets[i]];
  }
}

/**
 * dLosses (N), logits (N,V), lse (N), targets (N) -> dLogits (N,V) overwritten:
 * dLosses[i] * (exp(logits - lse) - onehot(target)); ignored rows are zero. dLogits may alias logits.
 */
export function crossEntropyBackward(dLogits: Float32Array, dLosses: Float32Array, logits: Float32Array, lse: Float32Array,
                                     targets: Int32Array, N: number, V: number, ignoreIndex: number): void {
  const op = 'crossEntropyBackward';
  checkCe(op, targets, N, V, ignoreIndex);
  needLen(op, 'dLogits', dLogits, N * V); needLen(op, 'dLosses', dLosses, N);
  needLen(op, 'logits', logits, N * V); needLen(op, 'lse', lse, N);
  for (let i = 0; i < N; i++) {
    const o = i * V, y = targets[i];
    if (y === ignoreIndex) { dLogits.fill(0, o, o + V); continue; }
    const g = dLosses[i], l = lse[i];
    for (let j = 0; j < V; j++) dLogits[o + j] = g * (Math.exp(logits[o + j] - l) - (j === y ? 1 : 0));
  }
}
