// store.json, the index of a teacher store: settings, the corpus it was made from, and the shard
// table mapping token positions to shard files. Positions are global: the train split's tokens
// are [0, nTrain), the val split's [nTrain, nTrain + nVal). It reads/writes only this file.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from './errors.js';
import { checkSameSettings, MANIFEST_FORMAT, MANIFEST_VERSION, validateSettings, type StoreSettings } from './format.js';
import type { ShardEntry } from './shard-file.js';
import { checkShape, manifestSchema } from './schema.js';

export const MANIFEST_FILE = 'store.json';

export interface SplitRange { name: 'train' | 'val'; start: number; length: number }

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  settings: StoreSettings;
  /** "sha256:<hex>" of both splits' token ids (identity.ts corpusIdentity). */
  corpusIdentity: string;
  /** Where the tokens came from (informational). */
  corpusSource: string;
  /** The tokenizer file the corpus was tokenized with (settings.tokenizerIdentity is its
   *  identity): a cross-tokenizer run re-opens it to align the teacher's positions with its own.
   *  Absent in stores made before it was recorded. */
  tokenizerSource?: string;
  splits: SplitRange[];
  /** Positions per shard (a multiple of settings.context; a split's last shard may be shorter). */
  shardPositions: number;
  shards: ShardEntry[];
}

/** The shard table: each split cut into runs of shardPositions from its own start. */
export function planShards(splits: SplitRange[], shardPositions: number): ShardEntry[] {
  const out: ShardEntry[] = [];
  for (const sp of splits) {
    for (let s = 0; s < sp.length; s += shardPositions) {
      const index = out.length;
      out.push({ index, split: sp.name, start: sp.start + s, count: Math.min(shardPositions, sp.length - s), file: `shard-${String(index).padStart(5, '0')}.dkd` });
    }
  }
  return out;
}

export function createManifest(settings: StoreSettings, corpusIdentity: string, corpusSource: string,
  nTrain: number, nVal: number, shardPositions: number): Manifest {
  validateSettings('store', settings);
  if (!Number.isInteger(shardPositions) || shardPositions < 1 || shardPositions % settings.context !== 0) {
    throw new StoreError(`store: positions per shard (${shardPositions}) must be a positive multiple of the context ${settings.context}, so no teacher window straddles two shards`);
  }
  const splits: SplitRange[] = [{ name: 'train', start: 0, length: nTrain }, { name: 'val', start: nTrain, length: nVal }];
  return { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, settings, corpusIdentity, corpusSource, splits, shardPositions, shards: planShards(splits, shardPositions) };
}

export function readManifest(dir: string): Manifest {
  const p = join(dir, MANIFEST_FILE);
  if (!existsSync(p)) throw new StoreError(`${dir}: no ${MANIFEST_FILE}; not a teacher store (make one with \`distill cache\`)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new StoreError(`${p}: not valid JSON (${(e as Error).message}); rebuild the store with \`distill cache\``);
  }
  const m = checkShape(manifestSchema, raw, p, 'rebuild the store with `distill cache`') as Manifest;
  if (m.format !== MANIFEST_FORMAT) throw new StoreError(`${p}: format '${String(m.format)}', expected '${MANIFEST_FORMAT}'`);
  if (m.version !== MANIFEST_VERSION) throw new StoreError(`${p}: store version ${m.version}, this distill reads version ${MANIFEST_VERSION}; rebuild the store with \`distill cache\``);
  validateSettings(p, m.settings);
  if (m.shardPositions % m.settings.context !== 0) throw new StoreError(`${p}: shardPositions ${m.shardPositions} is not a multiple of the context ${m.settings.context}; rebuild the store`);
  const [train, val] = m.splits;
  if (m.splits.length !== 2 || train.name !== 'train' || val.name !== 'val' || train.start !== 0 || val.start !== train.length) {
    throw new StoreError(`${p}: splits must be train from position 0, then val right after it; got ${JSON.stringify(m.splits)}; rebuild the store`);
  }
  // The table's size from the arithmetic first: a huge split length must not build a huge plan.
  const planned = m.splits.reduce((n, sp) => n + Math.ceil(sp.length / m.shardPositions), 0);
  if (planned !== m.shards.length) throw new StoreError(`${p}: splits of ${train.length} + ${val.length} positions in shards of ${m.shardPositions} make ${planned} shards, the table lists ${m.shards.length}; rebuild the store`);
  const plan = planShards(m.splits, m.shardPositions);
  if (JSON.stringify(plan) !== JSON.stringify(m.shards)) throw new StoreError(`${p}: the shard table does not match its splits and shardPositions; the index was edited — rebuild the store`);
  return m;
}

/**
 * Writes store.json for a new store, or checks an existing one describes the same store (so a
 * resumed or parallel `distill cache` cannot mix settings). Atomic: temp file + rename.
 */
export function writeOrCheckManifest(dir: string, m: Manifest): Manifest {
  const p = join(dir, MANIFEST_FILE);
  if (existsSync(p)) {
    const old = readManifest(dir);
    checkSameSettings(p, old.settings, m.settings);
    if (old.corpusIdentity !== m.corpusIdentity) throw new StoreError(`${p}: the store was made from corpus ${old.corpusIdentity}, this run tokenizes to ${m.corpusIdentity}; use another --out folder`);
    if (old.shardPositions !== m.shardPositions) throw new StoreError(`${p}: the store has ${old.shardPositions} positions per shard, this run asks ${m.shardPositions}; use the store's value or another --out folder`);
    return old;
  }
  const tmp = `${p}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(m, null, 1) + '\n');
  renameSync(tmp, p);
  return m;
}

/** The shard holding global position `pos` (shards are sorted and contiguous per split). */
export function shardOf(m: Manifest, pos: number): ShardEntry {
  let lo = 0, hi = m.shards.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1, s = m.shards[mid];
    if (pos < s.start) hi = mid - 1;
    else if (pos >= s.start + s.count) lo = mid + 1;
    else return s;
  }
  const total = m.splits.reduce((a, s) => a + s.length, 0);
  throw new StoreError(`store: position ${pos} is outside the store's ${total} positions`);
}
