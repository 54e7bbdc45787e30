// Batches of prompt/response pairs for training (data.format: pairs): row b holds one pair drawn
// from a seeded Rng, cut to T+1 tokens and padded, and `scored` marks the target positions that
// are response tokens — the prompt, the padding and nothing else are left out of the loss. A pair
// longer than T+1 tokens is cut (its start is trained). It neither reads files nor tokenizes.
import { Rng } from '../engine/rng.js';
import { BatchError } from './batcher.js';
import type { TokenizedPairs } from './pairs.js';

/** What the training loop draws windows from: plain random windows, or pairs. */
export interface WindowSource {
  /** The next (B, T+1) windows, row-major, a fresh array. */
  next(): Int32Array;
  /** Stream position of each row's first token in the batch last returned (B). */
  readonly offsets: Int32Array;
  /** (B*T) 1 where a target is scored, 0 where it is masked; null: every target is scored. */
  readonly scored: Uint8Array | null;
  /** (B) prompt tokens (BOS + prompt) of each row, for sources that have prompts; else null. */
  readonly promptLens: Int32Array | null;
}

export class PairBatcher implements WindowSource {
  private readonly rng: Rng;
  readonly offsets: Int32Array;
  readonly scored: Uint8Array;
  readonly promptLens: Int32Array;

  /** pad: the id that fills a row after a short pair (never scored). */
  constructor(private readonly pairs: TokenizedPairs, readonly B: number, readonly T: number, seed: number, private readonly pad: number) {
    if (!Number.isInteger(B) || B <= 0) throw new BatchError(`batch size B must be a positive integer, got ${B}`);
    if (!Number.isInteger(T) || T <= 0) throw new BatchError(`sequence length T must be a positive integer, got ${T}`);
    if (pairs.starts.length === 0) throw new BatchError('no training pairs to draw from');
    this.rng = new Rng(seed);
    this.offsets = new Int32Array(B);
    this.scored = new Uint8Array(B * T);
    this.promptLens = new Int32Array(B);
  }

  next(): Int32Array {
    const { B, T, pairs } = this;
    const W = T + 1;
    const out = new Int32Array(B * W).fill(this.pad);
    const n = pairs.starts.length;
    for (let b = 0; b < B; b++) {
      const i = this.rng.nextInt(n);
      const s = pairs.starts[i];
      const e = i + 1 < n ? pairs.starts[i + 1] : pairs.tokens.length;
      const len = Math.min(e - s, W);
      this.offsets[b] = s;
      this.promptLens[b] = pairs.promptLens[i];
      for (let t = 0; t < len; t++) out[b * W + t] = pairs.tokens[s + t];
      // target t predicts token t+1: scored when that token is a response token of this pair.
      for (let t = 0; t < T; t++) this.scored[b * T + t] = t + 1 >= pairs.promptLens[i] && t + 1 < len ? 1 : 0;
    }
    return out;
  }
}
