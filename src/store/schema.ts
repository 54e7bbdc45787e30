// The shapes of store.json and of a shard's JSON header, checked before any field is used: a
// value of the wrong type, a missing key or an out-of-range count is one StoreError naming the file
// and the key. Consistency between the two (same settings, shard table) is checked elsewhere.
import { z } from 'zod';
import { StoreError } from './errors.js';
import { VALUE_ENCODINGS } from './format.js';

/** Counts and positions: non-negative integers a Float64 holds exactly. */
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const settings = z.strictObject({
  teacherIdentity: z.string(),
  teacherDescription: z.string(),
  tokenizerIdentity: z.string(),
  vocabSize: count,
  k: count,
  topP: z.number(),
  temperature: z.number(),
  encoding: z.enum(VALUE_ENCODINGS as unknown as [string, ...string[]]),
  lpFloor: z.number(),
  context: count,
});

const split = z.enum(['train', 'val']);
const shardEntry = z.strictObject({ index: count, split, start: count, count, file: z.string() });

export const manifestSchema = z.strictObject({
  format: z.string(),
  version: z.number(),
  settings,
  corpusIdentity: z.string(),
  corpusSource: z.string(),
  tokenizerSource: z.string().optional(), // recorded since cross-tokenizer stores (issue 18)
  splits: z.array(z.strictObject({ name: split, start: count, length: count })).max(2),
  // ≥ 1 so the shard table is finite; the multiple-of-context rule is checked with the settings
  shardPositions: count.min(1),
  shards: z.array(shardEntry),
});

export const shardHeaderSchema = z.strictObject({
  settings,
  corpusIdentity: z.string(),
  shard: shardEntry.omit({ file: true }),
  recordBytes: count,
});

/** Parses `value` with `schema`; the first problem becomes a StoreError naming `file` and the key. */
export function checkShape<T>(schema: z.ZodType<T>, value: unknown, file: string, fix: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const key = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  throw new StoreError(`${file}: key '${key}': ${issue.message}; ${fix}`);
}
