// The cache job (`distill cache`): runs any teacher over both splits of a tokenized corpus in
// consecutive windows of `context` tokens, truncates each position's distribution (top-p, then
// top-k, with the tail mass; sparse rows from a server are cut the same way) and writes shard
// after shard of an offline store (src/store/ holds the format). Shards are independent: finished ones are skipped, so a killed run resumes at the
// first missing shard, and processes given disjoint shard ranges can fill one store together.
// It does not open teachers or tokenize (the CLI does).
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenStream } from '../data/batcher.js';
import { processTeacherLogitsSparse } from '../distill/index.js';
import { encodeRecord } from '../store/codec.js';
import { StoreError } from '../store/errors.js';
import { DEFAULT_LP_FLOOR, recordLayout, type StoreSettings, type ValueEncoding } from '../store/format.js';
import { corpusIdentity } from '../store/identity.js';
import { createManifest, writeOrCheckManifest, type Manifest } from '../store/manifest.js';
import { writeShardFile, type ShardEntry } from '../store/shard-file.js';
import type { Teacher } from './teacher.js';

export interface CacheOptions {
  dir: string;
  teacher: Teacher;
  /** The tokenizer the corpus was tokenized with (the teacher's, when it names one). */
  tokenizerIdentity: string;
  /** The tokenizer file (recorded in store.json for cross-tokenizer runs). */
  tokenizerSource?: string;
  /** V: the tokenizer's vocabulary (a larger teacher head is sliced to it). */
  vocabSize: number;
  train: TokenStream;
  val: TokenStream;
  corpusSource: string;
  k: number;
  topP: number;
  temperature: number;
  encoding: ValueEncoding;
  /** Teacher window length; the teacher must accept (batch, context). */
  context: number;
  /** Positions per shard, a multiple of context. */
  shardPositions: number;
  /** Teacher windows per forward. */
  batch: number;
  /** Fill only shards with index in [from, to) (default: all). */
  shardRange?: [number, number];
  /** Called after each teacher forward with positions done (this run) and to do (this run). */
  onProgress?: (done: number, total: number) => void;
  /** Called when a shard file is complete. */
  onShard?: (s: ShardEntry) => void;
}

export interface CacheResult { manifest: Manifest; written: number; skipped: number; positions: number }

export async function fillStore(o: CacheOptions): Promise<CacheResult> {
  const settings: StoreSettings = {
    teacherIdentity: o.teacher.identity, teacherDescription: o.teacher.description, tokenizerIdentity: o.tokenizerIdentity,
    vocabSize: o.vocabSize, k: o.k, topP: o.topP, temperature: o.temperature, encoding: o.encoding,
    lpFloor: DEFAULT_LP_FLOOR, context: o.context,
  };
  if (o.teacher.vocabSize < o.vocabSize) {
    throw new StoreError(`distill cache: teacher ${o.teacher.description} has ${o.teacher.vocabSize} logits per position but the tokenizer has ${o.vocabSize} ids; teacher and tokenizer must share a vocabulary`);
  }
  if (o.teacher.tokenizerIdentity !== null && o.teacher.tokenizerIdentity !== o.tokenizerIdentity) {
    throw new StoreError(`distill cache: teacher ${o.teacher.description} speaks tokenizer ${o.teacher.tokenizerIdentity}, the corpus was tokenized with ${o.tokenizerIdentity}`);
  }
  if (o.context > o.teacher.maxSeqLen) throw new StoreError(`distill cache: context ${o.context} exceeds the teacher's maxSeqLen ${o.teacher.maxSeqLen}; lower --context`);
  mkdirSync(o.dir, { recursive: true });
  const made = createManifest(settings, corpusIdentity(o.train, o.val), o.corpusSource, o.train.length, o.val.length, o.shardPositions);
  const manifest = writeOrCheckManifest(o.dir, o.tokenizerSource !== undefined ? { ...made, tokenizerSource: o.tokenizerSource } : made);
  const [from, to] = o.shardRange ?? [0, manifest.shards.length];
  if (!(from >= 0 && to <= manifest.shards.length && from < to)) {
    throw new StoreError(`distill cache: shard range ${from}:${to} is outside the store's ${manifest.shards.length} shards (0:${manifest.shards.length})`);
  }
  const mine = manifest.shards.slice(from, to);
  // leftovers of a killed run in this range: temporary files only, finished shards stay
  for (const f of readdirSync(o.dir)) {
    const m = /^(shard-(\d+)\.dkd)\.tmp-\d+$/.exec(f);
    if (m && Number(m[2]) >= from && Number(m[2]) < to) rmSync(join(o.dir, f), { force: true });
  }
  const todo = mine.filter((s) => !existsSync(join(o.dir, s.file)));
  const total = todo.reduce((a, s) => a + s.count, 0);
  const L = recordLayout(o.vocabSize, o.k, o.encoding);
  const C = o.context, V = o.vocabSize, k = o.k;
  const N = o.batch * C;
  const tokens = new Int32Array(N), offsets = new Int32Array(o.batch), ids = new Int32Array(N * k), lps = new Float32Array(N * k), tail = new Float32Array(N);
  let done = 0;
  for (const sh of todo) {
    const split = sh.split === 'train' ? o.train : o.val;
    const local0 = sh.start - manifest.splits.find((s) => s.name === sh.split)!.start;
    const records = new Uint8Array(sh.count * L.recordBytes);
    let p = 0;
    while (p < sh.count) {
      // B full windows, or the one short window that ends the split
      const full = Math.floor((sh.count - p) / C);
      const B = full > 0 ? Math.min(o.batch, full) : 1;
      const T = full > 0 ? C : sh.count - p;
      const n = B * T;
      for (let i = 0; i < n; i++) tokens[i] = split[local0 + p + i];
      for (let b = 0; b < B; b++) offsets[b] = local0 + p + b * T;
      const out = await o.teacher.predict({
        tokens: tokens.subarray(0, n), B, T, split: sh.split, offsets, V, accept: ['sparse', 'logits'], temperature: o.temperature,
      });
      if (out.kind === 'logits') {
        processTeacherLogitsSparse(ids.subarray(0, n * k), lps.subarray(0, n * k), tail.subarray(0, n), out.logits, n, V, k,
          { temperature: o.temperature, topP: o.topP, tailBucket: true });
      } else if (out.kind === 'sparse') {
        if (out.k < k) throw new StoreError(`distill cache: teacher ${o.teacher.description} gives ${out.k} ids per position, the store keeps ${k}; lower --k or raise the teacher's topK`);
        truncateSparseRows(ids, lps, tail, out, n, k, o.topP);
      } else {
        throw new StoreError(`distill cache: teacher ${o.teacher.description} answered with ${out.kind} rows, not logits or sparse rows`);
      }
      for (let i = 0; i < n; i++) encodeRecord(records, (p + i) * L.recordBytes, ids, lps, i * k, tail[i], L, settings);
      p += n; done += n;
      o.onProgress?.(done, total);
    }
    writeShardFile(join(o.dir, sh.file), { settings, corpusIdentity: manifest.corpusIdentity, shard: { index: sh.index, split: sh.split, start: sh.start, count: sh.count }, recordBytes: L.recordBytes }, records);
    o.onShard?.(sh);
  }
  return { manifest, written: todo.length, skipped: mine.length - todo.length, positions: total };
}

/**
 * Sparse rows of k' ≥ k ids (most likely first, as sources give them) cut to the store's k and
 * top-p as processTeacherLogitsSparse cuts logits: the shortest prefix reaching p, at most k ids,
 * log-probs unchanged, tail = 1 − Σp kept.
 */
function truncateSparseRows(ids: Int32Array, lps: Float32Array, tail: Float32Array, src: { ids: Int32Array; logProbs: Float32Array; k: number }, n: number, k: number, topP: number): void {
  for (let i = 0; i < n; i++) {
    let cum = 0, m = 0;
    while (m < k && src.ids[i * src.k + m] >= 0) {
      cum += Math.exp(src.logProbs[i * src.k + m]);
      m++;
      if (topP < 1 && cum >= topP) break;
    }
    for (let e = 0; e < k; e++) {
      ids[i * k + e] = e < m ? src.ids[i * src.k + e] : -1;
      lps[i * k + e] = e < m ? src.logProbs[i * src.k + e] : -Infinity;
    }
    tail[i] = Math.max(0, 1 - cum);
  }
}
