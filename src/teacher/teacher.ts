// The Teacher interface: maps token windows to next-token distributions over a known
// vocabulary. Sources (a local model today; servers and offline stores later) implement it.
// It does not compute losses or know about students.
import type { Bf16Weight } from '../engine/backend.js';

export interface Teacher {
  /** Rows of the logits it returns (its head size; may exceed the tokenizer's, see padded heads). */
  readonly vocabSize: number;
  /** Human-readable source, e.g. 'llama2c-legacy ../shared/data/stories260K/stories260K.bin'. */
  readonly description: string;
  /** Largest T it accepts. */
  readonly maxSeqLen: number;
  /**
   * Dense next-token logits (B*T, vocabSize) for tokens (B*T). The returned view is owned by
   * the teacher and valid until its next call.
   */
  logits(tokens: Int32Array, B: number, T: number): Float32Array;
  /**
   * Optional, for sources that are models run here: the final hidden states (B*T, C) and the
   * head (vocabSize, C) whose product is logits(), so the fused head loss makes the teacher's
   * logits chunk by chunk instead of all at once. The views are owned by the teacher and valid
   * until its next call.
   */
  hidden?(tokens: Int32Array, B: number, T: number): TeacherHidden;
}

/** A teacher's final hidden states (N,C) and head (vocabSize,C): logits = hidden·headᵀ, or
 *  hidden·headBf16ᵀ by Backend.gemmBf16 when the teacher runs in bf16. */
export interface TeacherHidden { hidden: Float32Array; head: Float32Array; headBf16?: Bf16Weight; C: number }

export class TeacherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TeacherError';
  }
}
