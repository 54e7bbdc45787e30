// Cuts a token stream into (B, T+1) windows: row b holds inputs tokens[s..s+T) and, shifted by
// one, targets tokens[s+1..s+T]. Training draws window starts from a seeded RNG; evaluation walks
// non-overlapping windows in order. It neither reads files nor knows about documents.
import { Rng } from '../engine/rng.js';

export type TokenStream = Uint16Array | Uint32Array | Int32Array | readonly number[];

export class BatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchError';
  }
}

function checkShape(tokens: TokenStream, B: number, T: number, what: string): void {
  if (!Number.isInteger(B) || B <= 0) throw new BatchError(`batch size B must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T <= 0) throw new BatchError(`sequence length T must be a positive integer, got ${T}`);
  if (tokens.length < T + 1) throw new BatchError(`${what} has ${tokens.length} tokens, fewer than T+1 = ${T + 1} needed for one window; lower T or use more data`);
}

/** Random (B, T+1) training windows, reproducible from `seed`; starts uniform in [0, n-T-1]. */
export class RandomWindowBatcher {
  private readonly rng: Rng;
  /** Stream position of each row's first token in the batch last returned by next() (B). */
  readonly offsets: Int32Array;
  /** Every target of a plain window is scored (the WindowSource of pair-batcher.ts). */
  readonly scored = null;
  /** Plain windows have no prompts. */
  readonly promptLens = null;
  constructor(private readonly tokens: TokenStream, readonly B: number, readonly T: number, seed: number, what = 'training split') {
    checkShape(tokens, B, T, what);
    this.rng = new Rng(seed);
    this.offsets = new Int32Array(B);
  }

  /** The next batch: a fresh Int32Array of B*(T+1) ids, row-major; row b starts at offsets[b]. */
  next(): Int32Array {
    const { B, T, tokens } = this;
    const W = T + 1;
    const out = new Int32Array(B * W);
    const starts = tokens.length - W + 1;
    for (let b = 0; b < B; b++) {
      const s = this.rng.nextInt(starts);
      this.offsets[b] = s;
      for (let t = 0; t < W; t++) out[b * W + t] = tokens[s + t];
    }
    return out;
  }
}

export interface EvalBatch {
  /** rows*(T+1) ids, row-major; rows <= B (the last batch may be short). */
  data: Int32Array;
  rows: number;
  /** Index of the batch's first window: window `first + r` starts at position (first + r)·T. */
  first: number;
}

/**
 * Splits `rows` windows of T+1 ids (row-major) into inputs (rows*T) and next-token targets
 * (rows*T): row r's inputs are its ids [0, T), its targets [1, T]. The one place windows are cut.
 */
export function splitWindows(inputs: Int32Array, targets: Int32Array, windows: Int32Array, rows: number, T: number): void {
  for (let r = 0; r < rows; r++) {
    const w = windows.subarray(r * (T + 1), (r + 1) * (T + 1));
    inputs.set(w.subarray(0, T), r * T);
    targets.set(w.subarray(1), r * T);
  }
}

/** Number of non-overlapping eval windows: every target position is scored exactly once. */
export function evalWindowCount(nTokens: number, T: number): number {
  return nTokens < T + 1 ? 0 : Math.floor((nTokens - 1) / T);
}

/**
 * Non-overlapping windows in order: window i covers tokens[i*T .. i*T+T] (its targets
 * tokens[i*T+1 .. i*T+T] never overlap another window's); up to B per batch. The tail of fewer
 * than T tokens after the last full window is not scored.
 */
export function* evalWindows(tokens: TokenStream, B: number, T: number, what = 'validation split'): Generator<EvalBatch> {
  checkShape(tokens, B, T, what);
  const W = T + 1;
  const n = evalWindowCount(tokens.length, T);
  for (let first = 0; first < n; first += B) {
    const rows = Math.min(B, n - first);
    const data = new Int32Array(rows * W);
    for (let r = 0; r < rows; r++) {
      const s = (first + r) * T;
      for (let t = 0; t < W; t++) data[r * W + t] = tokens[s + t];
    }
    yield { data, rows, first };
  }
}
