// The teacher side of one training micro-batch: asks the teacher (once, awaited) for the forms
// the loss can take and applies the recipe's logit processing (clip, smoothing, top-p/top-k with
// a tail) to dense logits, producing the teacher rows the loss ops consume. It never asks which
// source it holds. Buffers are sized once; nothing is allocated per step.
import type { HeadLossTeacher } from '../engine/backend.js';
import { processTeacherLogitsDense, processTeacherLogitsSparse } from '../distill/index.js';
import type { Recipe } from '../recipe/schema.js';
import { type Teacher, type TeacherForm, TeacherError } from '../teacher/teacher.js';

export class TeacherStep {
  private readonly dense: Float32Array | null;
  private readonly ids: Int32Array | null;
  private readonly logProbs: Float32Array | null;
  private readonly tail: Float32Array | null;
  private readonly k: number;
  /** raw: logits as the teacher gives them; dense: processed log-probs; sparse: truncated rows. */
  private readonly mode: 'raw' | 'dense' | 'sparse';
  /** What to accept, best first, on the fused path (hidden states: the logits are then made
   *  chunk by chunk inside the loss) and on the unfused one; sparse rows before dense logits (no
   *  (N,V) array), but only when no processing is asked (it needs the dense logits). */
  private readonly acceptFused: readonly TeacherForm[];
  private readonly acceptUnfused: readonly TeacherForm[];

  constructor(readonly teacher: Teacher, private readonly proc: Recipe['loss']['teacher'], N: number, readonly V: number) {
    const truncates = proc.topP < 1 || proc.topK !== undefined;
    const reshapes = proc.clip !== undefined || proc.labelSmoothing > 0;
    this.mode = truncates ? 'sparse' : reshapes ? 'dense' : 'raw';
    this.k = Math.min(V, proc.topK ?? V);
    this.dense = this.mode === 'dense' ? new Float32Array(N * V) : null;
    this.ids = this.mode === 'sparse' ? new Int32Array(N * this.k) : null;
    this.logProbs = this.mode === 'sparse' ? new Float32Array(N * this.k) : null;
    this.tail = this.mode === 'sparse' ? new Float32Array(N) : null;
    this.acceptUnfused = this.mode === 'raw' ? ['sparse', 'logits'] : ['logits'];
    this.acceptFused = this.mode === 'raw' ? ['hidden', ...this.acceptUnfused] : this.acceptUnfused;
  }

  /**
   * Teacher rows for inputs (B*T) at temperature T; offsets (B): each window's train-split
   * position. fused: the caller runs the fused head loss (which can take hidden states).
   */
  async rows(inputs: Int32Array, offsets: Int32Array, B: number, T: number, temperature: number, fused: boolean): Promise<HeadLossTeacher> {
    const N = B * T, V = this.V;
    const out = await this.teacher.predict({
      tokens: inputs, B, T, split: 'train', offsets, V, temperature, accept: fused ? this.acceptFused : this.acceptUnfused,
    });
    switch (out.kind) {
      case 'hidden': return { kind: 'hidden', hidden: out.hidden, weight: out.head, C: out.C, weightBf16: out.headBf16 };
      case 'sparse': return { kind: 'sparse', k: out.k, tailMode: this.proc.tail, ids: out.ids, logProbs: out.logProbs, tail: out.tail };
      case 'logits': break;
      default: {
        const never: never = out;
        throw new TeacherError(`teacher ${this.teacher.description} answered with unknown form '${(never as { kind: string }).kind}'`);
      }
    }
    const logits = out.logits;
    const options = {
      temperature, clip: this.proc.clip ?? null, labelSmoothing: this.proc.labelSmoothing,
      topP: this.proc.topP, tailBucket: this.proc.tail !== 'ignore',
    };
    switch (this.mode) {
      case 'raw':
        return { kind: 'logits', logits };
      case 'dense':
        processTeacherLogitsDense(this.dense!, logits, N, V, options);
        return { kind: 'logprobs', logProbs: this.dense!.subarray(0, N * V) };
      case 'sparse':
        processTeacherLogitsSparse(this.ids!, this.logProbs!, this.tail!, logits, N, V, this.k, options);
        return {
          kind: 'sparse', k: this.k, tailMode: this.proc.tail,
          ids: this.ids!.subarray(0, N * this.k), logProbs: this.logProbs!.subarray(0, N * this.k), tail: this.tail!.subarray(0, N),
        };
    }
  }
}
