// Integrity and size report of a teacher store: every shard's presence, checksum, header and
// record contents (ids in range and distinct, finite log-probs, tail in [0, 1]), plus bytes per
// token. It repairs nothing; `distill cache` rewrites what is missing.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRecord } from './codec.js';
import { StoreError } from './errors.js';
import { MANIFEST_FILE } from './manifest.js';
import { StoreReader } from './store-reader.js';

export interface ShardProblem { index: number; file: string; problem: string }

export interface StoreReport {
  dir: string;
  settings: StoreReader['manifest']['settings'];
  corpusIdentity: string;
  positions: number;
  shards: number;
  shardsPresent: number;
  missing: ShardProblem[];
  corrupt: ShardProblem[];
  /** Bytes on disk of store.json and present shards. */
  bytes: number;
  recordBytes: number;
  /** bytes / positions covered by present shards. */
  bytesPerToken: number;
  /** Records whose contents were checked (deep verify only). */
  recordsChecked: number;
}

/** Size and settings; with `deep`, every present shard is read, checksummed and its records checked. */
export function inspectStore(dir: string, deep: boolean): StoreReport {
  const r = new StoreReader(dir);
  const m = r.manifest, s = m.settings, k = s.k;
  let bytes = statSync(join(dir, MANIFEST_FILE)).size, covered = 0, checked = 0;
  const missing: ShardProblem[] = [], corrupt: ShardProblem[] = [];
  const ids = new Int32Array(k), lps = new Float32Array(k), seen = new Uint8Array(s.vocabSize);
  for (const sh of m.shards) {
    const path = join(dir, sh.file);
    if (!existsSync(path)) { missing.push({ index: sh.index, file: sh.file, problem: 'missing' }); continue; }
    bytes += statSync(path).size;
    covered += sh.count;
    if (!deep) continue;
    try {
      const rec = r.shardRecords(sh);
      for (let i = 0; i < sh.count; i++) {
        const tail = decodeRecord(ids, lps, 0, rec, i * r.layout.recordBytes, r.layout, s);
        const bad = (why: string) => new StoreError(`record ${i} (position ${sh.start + i}): ${why}`);
        if (!(tail >= 0 && tail <= 1)) throw bad(`tail ${tail} outside [0, 1]`);
        if (ids[0] < 0) throw bad('no kept id');
        for (let e = 0; e < k && ids[e] >= 0; e++) {
          if (ids[e] >= s.vocabSize) throw bad(`id ${ids[e]} outside [0, ${s.vocabSize})`);
          if (seen[ids[e]]) throw bad(`id ${ids[e]} repeated`);
          if (!Number.isFinite(lps[e]) || lps[e] > 1e-3) throw bad(`log-prob ${lps[e]} is not a finite value <= 0`);
          seen[ids[e]] = 1;
        }
        for (let e = 0; e < k && ids[e] >= 0; e++) seen[ids[e]] = 0;
        checked++;
      }
    } catch (e) {
      corrupt.push({ index: sh.index, file: sh.file, problem: e instanceof Error ? e.message : String(e) });
    }
  }
  const positions = m.splits.reduce((a, sp) => a + sp.length, 0);
  return {
    dir, settings: s, corpusIdentity: m.corpusIdentity, positions, shards: m.shards.length,
    shardsPresent: m.shards.length - missing.length, missing, corrupt, bytes, recordBytes: r.layout.recordBytes,
    bytesPerToken: covered > 0 ? bytes / covered : NaN, recordsChecked: checked,
  };
}
