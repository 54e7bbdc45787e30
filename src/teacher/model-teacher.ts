// A teacher that is a model distill runs itself (any checkpoint src/io can load): logits on the
// engine with inference-mode activations (no backward state kept), or only its final hidden
// states + head for the fused head loss (no (N,V) logits then). A padded head is cut to the V
// asked for by multiplying by its first V rows only — the one place that slicing happens. With
// precision 'bf16' its matmuls read bf16 weight copies (withBf16Weights; AMX tiles where the CPU
// has them), activations stay fp32. It does not cache results.
import type { Backend, Bf16Weight } from '../engine/backend.js';
import {
  createActivations, forwardToHidden, generate, headParamName, param, withBf16Weights, type Activations, type GenerateOptions,
  type GenerateResult, type Model,
} from '../model/index.js';
import { teacherIdentity } from './model-identity.js';
import { checkRequest, type Teacher, type TeacherOutput, type TeacherRequest, TeacherError } from './teacher.js';

/** fp32: the checkpoint's weights as they are; bf16: rounded to bf16 once, products summed in fp32. */
export type TeacherPrecision = 'fp32' | 'bf16';

export class ModelTeacher implements Teacher {
  readonly vocabSize: number;
  readonly maxSeqLen: number;
  readonly scoresAnyText = true;
  readonly canGenerate = true;
  readonly params: number;
  /** The model forward runs: the one given, or it with bf16 weight copies. */
  readonly model: Model;
  private acts: Activations;
  private readonly headBf16: Bf16Weight | undefined;
  /** (B*T, vocabSize), allocated on the first logits call: a teacher used only through its
   *  hidden states never holds the whole batch's logits. */
  private logitsBuf: Float32Array | null = null;
  private identityMemo: string | null = null;

  /** Activations are sized for (B, T) once; larger calls throw. tokenizerIdentity: the tokenizer
   *  its ids mean, when the caller knows it (a checkpoint names none; openTeacher passes the run's). */
  constructor(private readonly be: Backend, model: Model, private readonly B: number, private readonly T: number,
    readonly description: string, readonly precision: TeacherPrecision = 'fp32', readonly tokenizerIdentity: string | null = null) {
    this.vocabSize = model.config.vocabSize;
    this.maxSeqLen = model.config.maxSeqLen;
    this.params = model.layout.total;
    if (T > model.config.maxSeqLen) {
      throw new TeacherError(`teacher ${description}: sequence length ${T} exceeds its maxSeqLen ${model.config.maxSeqLen}`);
    }
    this.model = precision === 'bf16' ? withBf16Weights(be, model) : model;
    this.headBf16 = this.model.bf16?.get(headParamName(model.config));
    this.acts = createActivations(model.config, B, T, { training: false, headLogits: false });
  }

  /** Hash of the config and fp32 weights (computed once, on first use). */
  get identity(): string {
    this.identityMemo ??= teacherIdentity(this.model.config, this.model.params);
    return this.identityMemo;
  }

  get localModel(): Model { return this.model; }

  async predict(req: TeacherRequest): Promise<TeacherOutput> {
    checkRequest(this, req, this.B);
    const { tokens, B, T, V } = req;
    for (const form of req.accept) {
      if (form === 'hidden') return { kind: 'hidden', ...this.hidden(tokens, B, T) };
      if (form === 'logits') return { kind: 'logits', logits: this.logits(tokens, B, T, V) };
    }
    throw new TeacherError(`teacher ${this.description} gives logits or hidden states, the caller accepts only ${req.accept.join(', ')}`);
  }

  /**
   * Next-token logits (B*T, V) for tokens (B*T), V ≤ vocabSize (default all): the first V rows of
   * the head, so a padded head's extra rows are never computed. A view owned by the teacher.
   */
  logits(tokens: Int32Array, B: number, T: number, V = this.vocabSize): Float32Array {
    const { hidden, head, headBf16, C } = this.hidden(tokens, B, T);
    const N = B * T;
    this.logitsBuf ??= new Float32Array(this.B * this.T * this.vocabSize);
    const out = this.logitsBuf.subarray(0, N * V);
    if (headBf16) this.be.gemmBf16(out, hidden, headBf16, N, V, 0);
    else this.be.gemm(out, hidden, head, N, V, C, false, true, 1, 0);
    return out;
  }

  /** The final hidden states (B*T, C) and the head (vocabSize, C) whose product is logits(). */
  hidden(tokens: Int32Array, B: number, T: number): { hidden: Float32Array; head: Float32Array; headBf16?: Bf16Weight; C: number } {
    const c = this.model.config;
    const hidden = forwardToHidden(this.be, this.model, this.acts, tokens, B, T);
    return { hidden, head: param(this.model, headParamName(c)), headBf16: this.headBf16, C: c.dim };
  }

  async generate(prompt: readonly number[], options: GenerateOptions): Promise<GenerateResult> {
    return generate(this.be, this.model, prompt, options);
  }
}
