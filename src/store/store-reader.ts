// Reads teacher rows back from a store: opens store.json, loads each shard the first time a
// position in it is asked for (checking its checksum and header against the index), and decodes
// records into the sparse rows the KD losses take. It does not write, nor apply temperature.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRecord } from './codec.js';
import { StoreError } from './errors.js';
import { recordLayout, type RecordLayout } from './format.js';
import { readManifest, shardOf, type Manifest } from './manifest.js';
import { readShardFile, type ShardEntry } from './shard-file.js';

export class StoreReader {
  readonly manifest: Manifest;
  readonly layout: RecordLayout;
  private readonly loaded = new Map<number, Uint8Array>();

  constructor(readonly dir: string) {
    this.manifest = readManifest(dir);
    const s = this.manifest.settings;
    this.layout = recordLayout(s.vocabSize, s.k, s.encoding);
  }

  get k(): number { return this.manifest.settings.k; }

  /** Global position of a split's first token. */
  splitStart(split: 'train' | 'val'): number {
    return this.manifest.splits.find((s) => s.name === split)!.start;
  }

  splitLength(split: 'train' | 'val'): number {
    return this.manifest.splits.find((s) => s.name === split)!.length;
  }

  /** Shard files not (yet) written. */
  missingShards(): ShardEntry[] {
    return this.manifest.shards.filter((s) => !existsSync(join(this.dir, s.file)));
  }

  /** The records of one shard, read and verified once. */
  shardRecords(s: ShardEntry): Uint8Array {
    let r = this.loaded.get(s.index);
    if (!r) {
      const path = join(this.dir, s.file);
      if (!existsSync(path)) {
        throw new StoreError(`${path}: shard ${s.index} (${s.split} positions ${s.start}..${s.start + s.count - 1}) is missing; the store is incomplete — run \`distill cache\` again with the same settings and --out ${this.dir} to finish it`);
      }
      r = readShardFile(path, { settings: this.manifest.settings, corpusIdentity: this.manifest.corpusIdentity, shard: s }).records;
      this.loaded.set(s.index, r);
    }
    return r;
  }

  /**
   * Decodes `count` consecutive positions from global position `pos` into ids/logProbs
   * (count·k from slot `at`·k) and tail (count from `at`). Empty slots: id −1, log-prob −Infinity.
   */
  readRows(ids: Int32Array, logProbs: Float32Array, tail: Float32Array, at: number, pos: number, count: number): void {
    const k = this.k, L = this.layout, s = this.manifest.settings;
    let i = 0;
    while (i < count) {
      const sh = shardOf(this.manifest, pos + i);
      const rec = this.shardRecords(sh);
      const end = Math.min(count, sh.start + sh.count - pos);
      for (; i < end; i++) {
        tail[at + i] = decodeRecord(ids, logProbs, (at + i) * k, rec, (pos + i - sh.start) * L.recordBytes, L, s);
      }
    }
  }
}
