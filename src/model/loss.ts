// Mean next-token cross-entropy of a model on (inputs, targets) and its gradient: forward,
// backend cross-entropy (online over V), dLogits written in place over the logits, backward.
// Evaluation without gradients is src/eval/distill-eval.ts (the one validation loss).
// It does not zero or apply gradients (train/ does); distillation losses are engine ops (src/engine/README.md).

import { DEFAULT_IGNORE_INDEX, type Backend, type LossResult } from '../engine/backend.js';
import type { Activations } from './activations.js';
import type { Model } from './model.js';
import { forward, head } from './forward.js';
import { backward } from './backward.js';
import { ModelError } from './errors.js';

/** Mean cross-entropy over the rows whose target is not ignoreIndex (0 when there are none) and
 *  the rows that counted. */
export type { LossResult };

/**
 * Mean CE over non-ignored targets and its gradient, ACCUMULATED into model.grads (call
 * zeroGradsInPlace first unless accumulating micro-batches). inputs/targets (B*T) i32.
 * Overwrites acts.logits with dLogits. With every target ignored: loss 0, grads untouched.
 */
export function lossAndGrad(be: Backend, model: Model, acts: Activations, inputs: Int32Array, targets: Int32Array,
  B: number, T: number, ignoreIndex = DEFAULT_IGNORE_INDEX): LossResult {
  if (targets.length !== B * T) throw new ModelError(`lossAndGrad: targets has ${targets.length} ids, expected B*T = ${B * T}`);
  const N = B * T, V = model.config.vocabSize;
  const logits = forward(be, model, acts, inputs, B, T);
  const losses = head(acts.losses, N);
  be.crossEntropyForward(losses, head(acts.ceLse, N), logits, targets, N, V, ignoreIndex);
  let sum = 0, count = 0;
  for (let i = 0; i < N; i++) if (targets[i] !== ignoreIndex) { sum += losses[i]; count++; }
  const r = { loss: count > 0 ? sum / count : 0, count };
  if (r.count === 0) return r;
  const dLosses = head(acts.dLosses, N);
  for (let i = 0; i < N; i++) dLosses[i] = targets[i] === ignoreIndex ? 0 : 1 / r.count;
  be.crossEntropyBackward(logits, dLosses, logits, head(acts.ceLse, N), targets, N, V, ignoreIndex);
  backward(be, model, acts, logits);
  return r;
}
