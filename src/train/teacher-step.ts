// The teacher side of one training micro-batch: run the teacher, slice a padded head, and apply
// the recipe's logit processing (clip, smoothing, top-p/top-k with a tail), producing the
// TeacherRows the loss consumes. Buffers are sized once; nothing is allocated per step.
import {
  type TeacherRows, processTeacherLogitsDense, processTeacherLogitsSparse,
} from '../distill/index.js';
import type { Recipe } from '../recipe/schema.js';
import type { HeadLossTeacher } from '../engine/backend.js';
import type { Teacher } from '../teacher/teacher.js';
import { StoreTeacher } from '../teacher/store-teacher.js';

export class TeacherStep {
  /** A padded head's logits cut to V columns: made on the first rows() call (the fused path
   *  with a hidden teacher never needs it). */
  private sliced: Float32Array | null = null;
  private readonly dense: Float32Array | null;
  private readonly ids: Int32Array | null;
  private readonly logProbs: Float32Array | null;
  private readonly tail: Float32Array | null;
  private readonly k: number;
  private readonly mode: 'raw' | 'dense' | 'sparse';

  constructor(readonly teacher: Teacher, private readonly proc: Recipe['loss']['teacher'], N: number, readonly V: number) {
    const truncates = proc.topP < 1 || proc.topK !== undefined;
    const reshapes = proc.clip !== undefined || proc.labelSmoothing > 0;
    this.mode = truncates ? 'sparse' : reshapes ? 'dense' : 'raw';
    this.k = Math.min(V, proc.topK ?? V);
    this.dense = this.mode === 'dense' ? new Float32Array(N * V) : null;
    this.ids = this.mode === 'sparse' ? new Int32Array(N * this.k) : null;
    this.logProbs = this.mode === 'sparse' ? new Float32Array(N * this.k) : null;
    this.tail = this.mode === 'sparse' ? new Float32Array(N) : null;
  }

  /** For the fused head loss: the teacher's final hidden states + head when no logit processing
   *  is configured and the source can give them (its logits are then made chunk by chunk, a
   *  padded head's extra rows unused); null otherwise (use rows()). */
  hiddenRows(inputs: Int32Array, B: number, T: number): HeadLossTeacher | null {
    if (this.mode !== 'raw' || !this.teacher.hidden || this.teacher.vocabSize < this.V) return null;
    const h = this.teacher.hidden(inputs, B, T);
    return { kind: 'hidden', hidden: h.hidden, weight: h.head, C: h.C, weightBf16: h.headBf16 };
  }

  /** Teacher rows for inputs (B*T) at temperature T; offsets (B): each row's stream position. */
  rows(inputs: Int32Array, offsets: Int32Array, B: number, T: number, temperature: number): TeacherRows {
    // an offline store: rows as cached (truncated then), looked up by the windows' positions
    if (this.teacher instanceof StoreTeacher) return this.teacher.rowsAt(offsets, B, T, temperature, this.proc.tail);
    const N = B * T, V = this.V;
    let logits = this.teacher.logits(inputs, B, T);
    if (this.teacher.vocabSize !== V) {
      this.sliced ??= new Float32Array(N * V);
      const TV = this.teacher.vocabSize;
      for (let i = 0; i < N; i++) this.sliced.set(logits.subarray(i * TV, i * TV + V), i * V);
      logits = this.sliced.subarray(0, N * V);
    }
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
