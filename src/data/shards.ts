// Token shards on disk: one file per split holding token ids (uint16 when the vocabulary fits,
// else uint32) behind a small versioned header naming the tokenizer, and a content-keyed cache
// so that tokenizing the same corpus with the same tokenizer and options twice reads it back.
// It does not tokenize by itself (corpus.ts does) nor batch (batcher.ts does).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { corpusDocuments, readCorpusBytes, resolveCorpusOptions, tokenizeDocuments, type CorpusOptions } from './corpus.js';
import { DataError } from './errors.js';
import type { Tokenizer } from './tokenizer.js';

/*
 * Shard layout, little-endian, 256-byte header then the ids:
 *   0  8  magic "DSTLTOKS"
 *   8  4  version (1)
 *  12  4  bytes per id: 2 (uint16) or 4 (uint32)
 *  16  8  number of ids (uint64)
 *  24  4  vocabulary size
 *  28  4  length of the identity text that follows
 *  32 ..  identity text: "<tok.identity()> <tok.encoderIdentity()>" (ASCII), zero-padded to 256
 */
export const SHARD_MAGIC = 'DSTLTOKS';
export const SHARD_VERSION = 1;
export const SHARD_HEADER_BYTES = 256;
/** Bump when corpus.ts changes how text becomes tokens, so old cache entries stop matching. */
const CACHE_SCHEME = 'corpus-v1';

export type TokenArray = Uint16Array | Uint32Array;

export interface TokenShard {
  tokens: TokenArray;
  vocabSize: number;
  /** Vocabulary identity of the tokenizer that wrote it (Tokenizer.identity()). */
  identity: string;
  /** Encoder identity of the tokenizer that wrote it (Tokenizer.encoderIdentity()). */
  encoderIdentity: string;
}

/** uint16 when every id fits (vocab <= 65536), else uint32. */
export function shardDtypeBytes(vocabSize: number): 2 | 4 {
  return vocabSize <= 65536 ? 2 : 4;
}

/** Writes a shard atomically (temporary file, then rename). */
export function writeShard(path: string, tokens: ArrayLike<number>, tok: Pick<Tokenizer, 'vocabSize' | 'identity' | 'encoderIdentity'>): void {
  const width = shardDtypeBytes(tok.vocabSize);
  const ident = `${tok.identity()} ${tok.encoderIdentity()}`;
  if (32 + ident.length > SHARD_HEADER_BYTES) throw new DataError(path, `tokenizer identity of ${ident.length} characters does not fit the shard header`);
  const head = Buffer.alloc(SHARD_HEADER_BYTES);
  head.write(SHARD_MAGIC, 0, 'ascii');
  head.writeUInt32LE(SHARD_VERSION, 8);
  head.writeUInt32LE(width, 12);
  head.writeBigUInt64LE(BigInt(tokens.length), 16);
  head.writeUInt32LE(tok.vocabSize, 24);
  head.writeUInt32LE(ident.length, 28);
  head.write(ident, 32, 'ascii');
  const body = width === 2 ? new Uint16Array(tokens.length) : new Uint32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i];
    if (!(id >= 0 && id < tok.vocabSize)) throw new DataError(path, `token ${i} is ${id}, outside the vocabulary [0, ${tok.vocabSize})`);
    body[i] = id;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([head, Buffer.from(body.buffer, body.byteOffset, body.byteLength)]));
  renameSync(tmp, path);
}

/** Reads only a shard's header (no ids). */
export function readShardHeader(path: string): Omit<TokenShard, 'tokens'> & { count: number; width: 2 | 4 } {
  if (!existsSync(path)) throw new DataError(path, 'no such token shard');
  const head = Buffer.alloc(SHARD_HEADER_BYTES);
  const fd = openSync(path, 'r');
  let n: number;
  try { n = readSync(fd, head, 0, SHARD_HEADER_BYTES, 0); } finally { closeSync(fd); }
  if (n < SHARD_HEADER_BYTES || head.toString('ascii', 0, 8) !== SHARD_MAGIC) {
    throw new DataError(path, `not a distill token shard (expected magic "${SHARD_MAGIC}"); delete it and re-tokenize the corpus`);
  }
  const version = head.readUInt32LE(8);
  if (version !== SHARD_VERSION) throw new DataError(path, `token shard version ${version}, this distill reads version ${SHARD_VERSION}; delete the cache entry and re-tokenize`);
  const width = head.readUInt32LE(12);
  if (width !== 2 && width !== 4) throw new DataError(path, `token shard id width ${width} is not 2 or 4`);
  const count = Number(head.readBigUInt64LE(16));
  const vocabSize = head.readUInt32LE(24);
  const identLen = head.readUInt32LE(28);
  if (identLen > SHARD_HEADER_BYTES - 32) throw new DataError(path, `token shard identity length ${identLen} is too long`);
  const [identity = '', encoderIdentity = ''] = head.toString('ascii', 32, 32 + identLen).split(' ');
  return { count, width, vocabSize, identity, encoderIdentity };
}

/** Reads a shard; when `expect` is given, refuses one written by a different vocabulary. */
export function readShard(path: string, expect?: Pick<Tokenizer, 'identity' | 'source'>): TokenShard {
  const h = readShardHeader(path);
  if (expect && h.identity !== expect.identity()) {
    throw new DataError(path, `token shard was written with vocabulary ${h.identity}, but tokenizer ${expect.source} is ${expect.identity()}; re-tokenize with this tokenizer`);
  }
  const buf = readFileSync(path);
  const want = SHARD_HEADER_BYTES + h.count * h.width;
  if (buf.length !== want) throw new DataError(path, `token shard is ${buf.length} bytes, its header says ${want} (${h.count} ids of ${h.width} bytes): truncated or corrupt; delete it`);
  const body = new Uint8Array(buf.subarray(SHARD_HEADER_BYTES)).buffer; // aligned copy
  const tokens = h.width === 2 ? new Uint16Array(body) : new Uint32Array(body);
  return { tokens, vocabSize: h.vocabSize, identity: h.identity, encoderIdentity: h.encoderIdentity };
}

export interface CachedCorpusOptions extends CorpusOptions {
  /** Folder for shards; created if missing. See defaultShardCacheDir(). */
  cacheDir: string;
}

export interface CachedCorpus {
  train: TokenShard;
  val: TokenShard;
  trainPath: string;
  valPath: string;
  /** True when both shards were already in the cache. */
  cacheHit: boolean;
  /** The cache key: sha256 of corpus bytes, tokenizer encoder identity and options. */
  key: string;
}

/** ~/.cache/distill/shards: where the CLI keeps token shards unless told otherwise. */
export function defaultShardCacheDir(): string {
  return join(homedir(), '.cache', 'distill', 'shards');
}

/**
 * Tokenizes a corpus into train/val shards in `cacheDir`, keyed by a hash of (corpus bytes,
 * tokenizer encoder identity, options); a second call with the same inputs reads them back.
 */
export function loadCorpusShards(path: string, tok: Tokenizer, opts: CachedCorpusOptions): CachedCorpus {
  const o = resolveCorpusOptions(path, opts);
  const bytes = readCorpusBytes(path);
  const key = createHash('sha256')
    .update(`${CACHE_SCHEME}\n${tok.encoderIdentity()}\n${JSON.stringify(o)}\n`)
    .update(bytes)
    .digest('hex')
    .slice(0, 32);
  mkdirSync(opts.cacheDir, { recursive: true });
  const trainPath = join(opts.cacheDir, `${key}.train.tok`);
  const valPath = join(opts.cacheDir, `${key}.val.tok`);
  for (const p of [trainPath, valPath]) {
    if (existsSync(p) && !statSync(p).isFile()) throw new DataError(p, 'a token-shard cache entry is not a file (a folder?); remove it and the shard is rebuilt');
  }
  if (existsSync(trainPath) && existsSync(valPath)) {
    return { train: readShard(trainPath, tok), val: readShard(valPath, tok), trainPath, valPath, cacheHit: true, key };
  }
  const c = tokenizeDocuments(path, corpusDocuments(path, bytes, o), tok, o.valFraction);
  writeShard(trainPath, c.train, tok);
  writeShard(valPath, c.val, tok);
  return { train: readShard(trainPath, tok), val: readShard(valPath, tok), trainPath, valPath, cacheHit: false, key };
}
