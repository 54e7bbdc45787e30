// A teacher that is a model distill runs itself (any checkpoint src/io can load), computing
// logits on the engine each step with inference-mode activations (no backward state kept), or
// only its final hidden states + head for the fused head loss (no (N,V) logits then). With
// precision 'bf16' its matmuls read bf16 weight copies (withBf16Weights; AMX tiles where the CPU
// has them), activations stay fp32. It does not cache results; offline stores are a separate source.
import type { Backend, Bf16Weight } from '../engine/backend.js';
import {
  createActivations, forwardToHidden, headParamName, param, withBf16Weights, type Activations, type Model,
} from '../model/index.js';
import { type Teacher, type TeacherHidden, TeacherError } from './teacher.js';

/** fp32: the checkpoint's weights as they are; bf16: rounded to bf16 once, products summed in fp32. */
export type TeacherPrecision = 'fp32' | 'bf16';

export class ModelTeacher implements Teacher {
  readonly vocabSize: number;
  readonly maxSeqLen: number;
  /** The model forward runs: the one given, or it with bf16 weight copies. */
  readonly model: Model;
  private acts: Activations;
  private readonly headBf16: Bf16Weight | undefined;
  /** (B*T, vocabSize), allocated on the first logits() call: a teacher used only through
   *  hidden() never holds the whole batch's logits. */
  private logitsBuf: Float32Array | null = null;

  /** Activations are sized for (B, T) once; larger calls throw. */
  constructor(private readonly be: Backend, model: Model, private readonly B: number, private readonly T: number,
    readonly description: string, readonly precision: TeacherPrecision = 'fp32') {
    this.vocabSize = model.config.vocabSize;
    this.maxSeqLen = model.config.maxSeqLen;
    if (T > model.config.maxSeqLen) {
      throw new TeacherError(`teacher ${description}: sequence length ${T} exceeds its maxSeqLen ${model.config.maxSeqLen}`);
    }
    this.model = precision === 'bf16' ? withBf16Weights(be, model) : model;
    this.headBf16 = this.model.bf16?.get(headParamName(model.config));
    this.acts = createActivations(model.config, B, T, { training: false, headLogits: false });
  }

  logits(tokens: Int32Array, B: number, T: number): Float32Array {
    const { hidden, head, headBf16, C } = this.hidden(tokens, B, T);
    const N = B * T, V = this.vocabSize;
    this.logitsBuf ??= new Float32Array(this.B * this.T * V);
    const out = this.logitsBuf.subarray(0, N * V);
    if (headBf16) this.be.gemmBf16(out, hidden, headBf16, N, V, 0);
    else this.be.gemm(out, hidden, head, N, V, C, false, true, 1, 0);
    return out;
  }

  hidden(tokens: Int32Array, B: number, T: number): TeacherHidden {
    const c = this.model.config;
    const hidden = forwardToHidden(this.be, this.model, this.acts, tokens, B, T);
    return { hidden, head: param(this.model, headParamName(c)), headBf16: this.headBf16, C: c.dim };
  }
}
