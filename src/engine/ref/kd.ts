// The reference KD op (Backend.kdForwardBackward): hands a teacher's dense rows to kd-dense.ts and
// its sparse rows to kd-sparse.ts. No math of its own, and no CE (cross-entropy.ts).
import { EngineError, type KdArgs, type LossResult } from '../backend.js';
import { kdDenseForwardBackward } from './kd-dense.js';
import type { KdOptions } from './kd-options.js';
import { kdSparseForwardBackward } from './kd-sparse.js';

/** See Backend.kdForwardBackward. */
export function kdForwardBackward(a: KdArgs): LossResult {
  const o: KdOptions = {
    divergence: a.divergence, temperature: a.temperature, scaleT2: a.scaleT2, ignoreIndex: a.ignoreIndex,
    gradScale: a.gradScale, accumulate: a.accumulate, chunk: a.chunk,
  };
  const t = a.teacher;
  switch (t.kind) {
    case 'logits': return kdDenseForwardBackward(a.dStudent, a.rowLosses, a.student, t.logits, 'logits', a.targets, a.N, a.V, o);
    case 'logprobs': return kdDenseForwardBackward(a.dStudent, a.rowLosses, a.student, t.logProbs, 'logprobs', a.targets, a.N, a.V, o);
    case 'sparse': return kdSparseForwardBackward(a.dStudent, a.rowLosses, a.student, t, a.targets, a.N, a.V, o);
    default: {
      const never: never = t;
      throw new EngineError(`kdForwardBackward: teacher kind '${(never as { kind: string }).kind}' holds no rows of a distribution (use logits, logprobs or sparse)`);
    }
  }
}
