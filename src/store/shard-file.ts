// One shard file of a teacher store: versioned magic, a JSON header (the store settings and the
// positions it covers), fixed-size records, and a CRC32C over everything before it. Written to a
// temporary name and renamed, so a shard file either is complete or does not exist. It does not
// compute teacher rows or decide which shards exist (manifest.ts).
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { crc32c } from '../io/crc32c.js';
import { StoreError } from './errors.js';
import { checkSameSettings, recordLayout, SHARD_MAGIC, SHARD_VERSION, validateSettings, type StoreSettings } from './format.js';
import { checkShape, shardHeaderSchema } from './schema.js';

/*
 * Layout, little-endian:
 *   0   8  magic "DSTLKDST"
 *   8   4  version (SHARD_VERSION)
 *  12   4  H = byte length of the JSON header
 *  16   H  JSON ShardHeader (UTF-8)
 *  16+H    count × recordBytes records (format.ts recordLayout)
 *  end−4 4 CRC32C of bytes [0, end−4)
 */

/** The positions one shard covers: global positions [start, start+count) of split `split`. */
export interface ShardEntry { index: number; split: 'train' | 'val'; start: number; count: number; file: string }

export interface ShardHeader {
  settings: StoreSettings;
  corpusIdentity: string;
  shard: Omit<ShardEntry, 'file'>;
  recordBytes: number;
}

export function encodeShard(h: ShardHeader, records: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(h), 'utf8');
  const total = 16 + json.length + records.length + 4;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(Buffer.from(SHARD_MAGIC, 'ascii'), 0);
  dv.setUint32(8, SHARD_VERSION, true);
  dv.setUint32(12, json.length, true);
  out.set(json, 16);
  out.set(records, 16 + json.length);
  dv.setUint32(total - 4, crc32c(out.subarray(0, total - 4)), true);
  return out;
}

/** Writes the shard atomically: a temporary file in the same folder, fsync, rename. */
export function writeShardFile(path: string, h: ShardHeader, records: Uint8Array): void {
  const bytes = encodeShard(h, records);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

export interface DecodedShard { header: ShardHeader; records: Uint8Array; bytes: number }

/** Parses and checks a shard's bytes: magic, version, checksum, and (when given) the store it belongs to. */
export function decodeShard(path: string, buf: Uint8Array, expect?: { settings: StoreSettings; corpusIdentity: string; shard: ShardEntry }): DecodedShard {
  const fix = 'delete the file and re-run `distill cache` on this store to rewrite it';
  if (buf.length < 20 || Buffer.from(buf.subarray(0, 8)).toString('latin1') !== SHARD_MAGIC) {
    throw new StoreError(`${path}: not a distill teacher-store shard (magic '${SHARD_MAGIC}' missing); ${fix}`);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== SHARD_VERSION) {
    throw new StoreError(`${path}: shard format version ${version}, this distill reads version ${SHARD_VERSION}; rebuild the store with this version's \`distill cache\``);
  }
  const stored = dv.getUint32(buf.length - 4, true), actual = crc32c(buf.subarray(0, buf.length - 4));
  if (stored !== actual) {
    throw new StoreError(`${path}: checksum mismatch (stored CRC32C ${stored.toString(16)}, computed ${actual.toString(16)}): the shard is corrupt; ${fix}`);
  }
  const H = dv.getUint32(12, true);
  if (16 + H + 4 > buf.length) throw new StoreError(`${path}: header length ${H} runs past the end of the file; ${fix}`);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(buf.subarray(16, 16 + H)).toString('utf8'));
  } catch (e) {
    throw new StoreError(`${path}: header is not valid JSON (${(e as Error).message}); ${fix}`);
  }
  const header = checkShape(shardHeaderSchema, raw, path, fix) as ShardHeader;
  validateSettings(path, header.settings);
  const L = recordLayout(header.settings.vocabSize, header.settings.k, header.settings.encoding);
  if (L.recordBytes !== header.recordBytes) throw new StoreError(`${path}: header says ${header.recordBytes} bytes per record, the layout gives ${L.recordBytes}; ${fix}`);
  const records = buf.subarray(16 + H, buf.length - 4);
  if (records.length !== header.shard.count * header.recordBytes) {
    throw new StoreError(`${path}: ${records.length} record bytes for ${header.shard.count} positions of ${header.recordBytes} bytes; ${fix}`);
  }
  if (expect) {
    checkSameSettings(path, expect.settings, header.settings);
    if (header.corpusIdentity !== expect.corpusIdentity) throw new StoreError(`${path}: made from corpus ${header.corpusIdentity}, the store is for ${expect.corpusIdentity}; ${fix}`);
    const s = header.shard, e = expect.shard;
    if (s.index !== e.index || s.split !== e.split || s.start !== e.start || s.count !== e.count) {
      throw new StoreError(`${path}: covers shard ${s.index} (${s.split} ${s.start}+${s.count}) but the index expects shard ${e.index} (${e.split} ${e.start}+${e.count}); ${fix}`);
    }
  }
  return { header, records, bytes: buf.length };
}

export function readShardFile(path: string, expect?: { settings: StoreSettings; corpusIdentity: string; shard: ShardEntry }): DecodedShard {
  const buf = readFileSync(path);
  return decodeShard(path, new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), expect);
}
