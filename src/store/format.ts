// The teacher-store format in one place: the settings every shard header repeats, the value
// encodings with their error bounds, and the fixed record layout derived from (V, k, encoding).
// It reads and writes no files (shard-file.ts, manifest.ts do). Spec: docs/store-format.md.
import { StoreError } from './errors.js';

/** Magic at the head of every shard file; the trailing digit pair is not a version (see SHARD_VERSION). */
export const SHARD_MAGIC = 'DSTLKDST';
/** Bump on any change to the header or record layout; readers refuse other versions. */
export const SHARD_VERSION = 1;
/** `format` field of store.json. */
export const MANIFEST_FORMAT = 'distill-teacher-store';
export const MANIFEST_VERSION = 1;

/**
 * How log-probabilities are stored:
 * - 'f32': float32, lossless w.r.t. processTeacherLogitsSparse's output (exact reproduction);
 * - 'f16': IEEE half, |Δlp| ≤ 2^-11·|lp|; tail as half;
 * - 'q4'..'q8': N-bit codes, uniform over a per-record range [lo', 0] where lo' ≤ lo (the
 *   smallest kept log-prob) is a 6-bit code over [lpFloor, 0] rounded down (so lo' > lo − 0.51 at
 *   lpFloor −32); |Δlp| ≤ −lo'/(2·(2^N − 1)); tail as a 12-bit fraction (|Δtail| ≤ 2^-13).
 * Lossy encodings are renormalized on read so Σ exp(lp) + tail = 1.
 */
export type ValueEncoding = 'f32' | 'f16' | 'q4' | 'q5' | 'q6' | 'q7' | 'q8';
export const VALUE_ENCODINGS: readonly ValueEncoding[] = ['f32', 'f16', 'q4', 'q5', 'q6', 'q7', 'q8'];

/** Log-probs below this are clamped by the q encodings (p < 1.3e-14 carries no KD signal). */
export const DEFAULT_LP_FLOOR = -32;

/** What the store holds and how: identical in store.json and every shard header. */
export interface StoreSettings {
  /** Teacher identity: "sha256:<hex>" of its config and weights (see identity.ts). */
  teacherIdentity: string;
  /** Human-readable teacher source, e.g. 'llama2c-legacy ../shared/data/stories260K/stories260K.bin'. */
  teacherDescription: string;
  /** Tokenizer vocabulary identity (Tokenizer.identity()). */
  tokenizerIdentity: string;
  /** V: ids are in [0, V) (the tokenizer's vocabulary; a padded teacher head is sliced). */
  vocabSize: number;
  /** At most k ids per position. */
  k: number;
  /** Nucleus threshold applied before top-k. */
  topP: number;
  /** Temperature the log-probs were taken at. */
  temperature: number;
  encoding: ValueEncoding;
  /** q encodings: lower end of the range the per-record `lo` is coded over. */
  lpFloor: number;
  /** Teacher context: positions are scored in consecutive windows of this many tokens from each split's start. */
  context: number;
}

export interface RecordLayout {
  countBits: number;
  idBits: number;
  /** Bits per value code (32, 16 or N). */
  valueBits: number;
  /** q encodings: LO_BITS bits of `lo`; else 0. */
  loBits: number;
  tailBits: number;
  /** Whole record, padded to bytes. */
  recordBytes: number;
}

/** q encodings: bits of the per-record range code and of the tail fraction (63 bytes at V=512, k=32, q6). */
export const LO_BITS = 6;
export const Q_TAIL_BITS = 12;

export function bitsFor(n: number): number {
  let b = 0;
  while (2 ** b < n) b++; // not 1 << b: it wraps negative at b = 31 and never ends
  return Math.max(1, b);
}

export function quantBits(enc: ValueEncoding): number | null {
  return enc[0] === 'q' ? Number(enc.slice(1)) : null;
}

/** The fixed record layout: count, k ids, [lo], k values, tail; LSB-first bit packing. */
/** The largest vocabulary a store holds: the largest a distill model takes (CONFIG_LIMITS.vocabSize
 *  in model/config.ts, which store/ may not import); a bigger header value is a lie, not a model. */
const MAX_VOCAB = 2 ** 22;

export function recordLayout(V: number, k: number, enc: ValueEncoding, where = 'store'): RecordLayout {
  if (!Number.isInteger(V) || V < 2 || V > MAX_VOCAB) throw new StoreError(`${where}: vocabulary size must be an integer in [2, ${MAX_VOCAB}], got ${V}`);
  if (!Number.isInteger(k) || k < 1 || k > V) throw new StoreError(`${where}: k = ${k} must be an integer in [1, V=${V}]`);
  if (!VALUE_ENCODINGS.includes(enc)) throw new StoreError(`${where}: value encoding '${enc}' is not one of ${VALUE_ENCODINGS.join(', ')}`);
  const q = quantBits(enc);
  const countBits = bitsFor(k + 1);
  const idBits = bitsFor(V);
  const valueBits = enc === 'f32' ? 32 : enc === 'f16' ? 16 : q!;
  const loBits = q !== null ? LO_BITS : 0;
  const tailBits = enc === 'f32' ? 32 : q !== null ? Q_TAIL_BITS : 16;
  const bits = countBits + k * idBits + loBits + k * valueBits + tailBits;
  return { countBits, idBits, valueBits, loBits, tailBits, recordBytes: Math.ceil(bits / 8) };
}

/** Worst-case |Δ log-prob| of an encoding for a record whose smallest kept log-prob is lo (before renormalization). */
export function logProbErrorBound(enc: ValueEncoding, lo: number, lpFloor = DEFAULT_LP_FLOOR): number {
  const q = quantBits(enc);
  if (enc === 'f32') return 0;
  if (enc === 'f16') return Math.abs(lo) * 2 ** -11;
  const loStep = -lpFloor / (2 ** LO_BITS - 1);
  return (-Math.max(lo, lpFloor) + loStep) / (2 * (2 ** q! - 1));
}

/** Throws unless a and b describe the same store (used across shards and the manifest). */
export function checkSameSettings(where: string, a: StoreSettings, b: StoreSettings): void {
  for (const key of Object.keys(a) as (keyof StoreSettings)[]) {
    if (a[key] !== b[key]) {
      throw new StoreError(`${where}: setting '${key}' is ${JSON.stringify(b[key])} but the store's is ${JSON.stringify(a[key])}; the shard belongs to another store — delete it and re-run \`distill cache\``);
    }
  }
}

export function validateSettings(where: string, s: StoreSettings): void {
  recordLayout(s.vocabSize, s.k, s.encoding, where);
  if (!(s.topP > 0 && s.topP <= 1)) throw new StoreError(`${where}: topP = ${s.topP} must be in (0, 1]`);
  if (!(s.temperature > 0) || !Number.isFinite(s.temperature)) throw new StoreError(`${where}: temperature = ${s.temperature} must be positive and finite`);
  if (!Number.isInteger(s.context) || s.context < 1) throw new StoreError(`${where}: context = ${s.context} must be a positive integer`);
  if (!(s.lpFloor < 0)) throw new StoreError(`${where}: lpFloor = ${s.lpFloor} must be negative`);
}
