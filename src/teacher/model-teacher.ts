// A teacher that is a model distill runs itself (any checkpoint src/io can load), computing
// logits on the engine each step with inference-mode activations (no backward state kept).
// It does not cache results; offline stores are a separate source.
import type { Backend } from '../engine/backend.js';
import { createActivations, forward, type Activations, type Model } from '../model/index.js';
import { type Teacher, TeacherError } from './teacher.js';

export class ModelTeacher implements Teacher {
  readonly vocabSize: number;
  readonly maxSeqLen: number;
  private acts: Activations;

  /** Activations are sized for (B, T) once; larger calls throw. */
  constructor(private readonly be: Backend, readonly model: Model, B: number, T: number, readonly description: string) {
    this.vocabSize = model.config.vocabSize;
    this.maxSeqLen = model.config.maxSeqLen;
    if (T > model.config.maxSeqLen) {
      throw new TeacherError(`teacher ${description}: sequence length ${T} exceeds its maxSeqLen ${model.config.maxSeqLen}`);
    }
    this.acts = createActivations(model.config, B, T, { training: false, allLogits: true });
  }

  logits(tokens: Int32Array, B: number, T: number): Float32Array {
    return forward(this.be, this.model, this.acts, tokens, B, T);
  }
}
