// What training a student of a config needs in memory, estimated before anything is allocated:
// fp32 weights, gradients and AdamW's two moments (16 bytes a parameter) plus the activations one
// micro-batch keeps for backward. A recipe that cannot fit this machine is refused by name before
// a run folder is touched, instead of an "Invalid typed array length" from deep inside.
import { totalmem } from 'node:os';
import { countParams, type ModelConfig } from '../model/index.js';
import { RecipeError } from '../recipe/load.js';

/** Bytes of fp32 state and activations to train `c` on micro-batches of B windows of T tokens. */
export function trainingBytes(c: ModelConfig, B: number, T: number): { state: number; activations: number } {
  const P = countParams(c);
  const N = B * T;
  // Per layer and token: the block's inputs, norms, q/k/v/o, MLP gate/up/act/down (~10 dim + 4 hidden
  // floats) and the attention probabilities (heads × T); then the logits and their softmax (2 × V).
  const perToken = c.nLayers * (10 * c.dim + 4 * c.hiddenDim + c.nHeads * T) + 2 * c.vocabSize;
  return { state: 16 * P, activations: 4 * N * perToken };
}

const GiB = 2 ** 30;

/** Throws a RecipeError naming the student's keys when training it could not fit in this machine's memory. */
export function checkTrainingFits(c: ModelConfig, B: number, T: number, source: string, memory = totalmem()): void {
  const P = countParams(c);
  const { state, activations } = trainingBytes(c, B, T);
  if (!Number.isSafeInteger(P) || P > 2 ** 32 - 1 || state + activations > memory) {
    throw new RecipeError(`${source}: key 'student': dim ${c.dim}, nLayers ${c.nLayers}, hiddenDim ${c.hiddenDim}, vocabulary ${c.vocabSize} make ${P.toLocaleString('en-US')} parameters; `
      + `training needs about ${(state / GiB).toFixed(1)} GiB (weights, gradients, AdamW) + ${(activations / GiB).toFixed(1)} GiB of activations at ${B} windows × ${T} tokens per micro-batch, `
      + `this machine has ${(memory / GiB).toFixed(1)} GiB: shrink the student, or lower train.batchSize / raise train.gradAccum / lower train.seqLen`);
  }
}
