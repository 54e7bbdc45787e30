// Reads GGUF files (v2 and v3; v1 is refused): the header, every metadata key/value (all 13 value
// types, arrays included), tensor infos and tensor data, which it dequantizes to f32 on request.
// Every size in the header is bounded by the file's size before anything is allocated from it.
// It does not know model architectures (gguf-model.ts) or tokenizers (gguf-tokenizer-meta.ts).

import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { FormatError } from './errors.js';
import {
  GGML_TYPES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_DIMS, GGUF_TYPE_BYTES, GGUF_TYPE_NAMES, GGUF_VERSIONS,
  GgufType, READABLE_GGML_TYPES, ggmlTypeLabel,
} from './gguf-format.js';
import { dequantize } from './gguf-quant.js';

export type GgufScalar = number | bigint | boolean | string;
export interface GgufArray { itemType: number; values: GgufValue[] }
export type GgufValue = GgufScalar | GgufArray;
/** A metadata value with its declared type (kept, so a file can be written back as it was). */
export interface GgufKv { type: number; value: GgufValue }

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the contiguous one (a PyTorch (out, in) weight is [in, out]). */
  dims: number[];
  /** ggml_type number. */
  type: number;
  /** Byte offset inside the data section. */
  offset: number;
  nElements: number;
  nBytes: number;
}

export interface GgufFile {
  path: string;
  version: number;
  alignment: number;
  metadata: Map<string, GgufKv>;
  /** Tensor infos in file order. */
  tensors: GgufTensorInfo[];
  tensorByName: Map<string, GgufTensorInfo>;
  /** Absolute byte offset of the data section. */
  dataStart: number;
  /** The tensor dequantized to a fresh Float32Array; FormatError naming it when absent or of a type we do not read. */
  readF32(name: string): Float32Array;
}

/** Nesting depth of arrays in arrays we accept (real files use 1). */
const MAX_ARRAY_DEPTH = 4;
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** Bounds-checked little-endian reads over the whole file; every failure names the field. */
class Cursor {
  pos = 0;
  constructor(readonly path: string, readonly buf: Buffer) {}
  fail(msg: string): never {
    throw new FormatError(this.path, msg);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) this.fail(`${what} at byte ${this.pos} needs ${n} bytes but the file ends at byte ${this.buf.length} (truncated?)`);
  }
  u8(what: string): number { this.need(1, what); return this.buf[this.pos++]; }
  u32(what: string): number { this.need(4, what); const v = this.buf.readUInt32LE(this.pos); this.pos += 4; return v; }
  /** A u64 that counts or measures something in this file: it must be at most `max`. */
  size(what: string, max: number): number {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    if (v > BigInt(max)) this.fail(`${what} is ${v} at byte ${this.pos}, but the file has only ${this.buf.length} bytes (expected at most ${max})`);
    this.pos += 8;
    return Number(v);
  }
  string(what: string): string {
    const n = this.size(`${what} length`, Math.max(0, this.buf.length - this.pos - 8));
    const s = utf8.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  /** Bytes left after the cursor. */
  get left(): number { return this.buf.length - this.pos; }
}

/** The shortest decimal that rounds to the same float32 (1e-5, not 9.999999747378752e-6). */
function shortestF32(x: number): number {
  if (!Number.isFinite(x)) return x;
  for (let p = 1; p < 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

function readScalar(c: Cursor, type: number, what: string): GgufScalar {
  const b = c.buf;
  const n = GGUF_TYPE_BYTES[type];
  if (type === GgufType.STRING) return c.string(what);
  c.need(n, what);
  const at = c.pos;
  c.pos += n;
  switch (type) {
    case GgufType.UINT8: return b.readUInt8(at);
    case GgufType.INT8: return b.readInt8(at);
    case GgufType.UINT16: return b.readUInt16LE(at);
    case GgufType.INT16: return b.readInt16LE(at);
    case GgufType.UINT32: return b.readUInt32LE(at);
    case GgufType.INT32: return b.readInt32LE(at);
    case GgufType.FLOAT32: return shortestF32(b.readFloatLE(at));
    case GgufType.BOOL: {
      const v = b.readUInt8(at);
      if (v > 1) c.fail(`${what} is a BOOL with byte value ${v} at byte ${at}; expected 0 or 1`);
      return v === 1;
    }
    case GgufType.UINT64: { const v = b.readBigUInt64LE(at); return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v; }
    case GgufType.INT64: { const v = b.readBigInt64LE(at); return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v; }
    case GgufType.FLOAT64: return b.readDoubleLE(at);
    default: return c.fail(`${what} has value type ${type}; expected 0..12`);
  }
}

function valueType(c: Cursor, what: string): number {
  const at = c.pos;
  const t = c.u32(`${what} type`);
  if (t >= GGUF_TYPE_NAMES.length) c.fail(`${what} has value type ${t} at byte ${at}; expected one of 0..12 (${GGUF_TYPE_NAMES.join(', ')})`);
  return t;
}

function readValue(c: Cursor, type: number, what: string, depth: number): GgufValue {
  if (type !== GgufType.ARRAY) return readScalar(c, type, what);
  if (depth >= MAX_ARRAY_DEPTH) c.fail(`${what} nests arrays ${depth + 1} deep; expected at most ${MAX_ARRAY_DEPTH}`);
  const itemType = valueType(c, `${what} item`);
  // Smallest encoding of one item: its fixed size, a string's 8-byte length, an array's type + count.
  const minItem = itemType === GgufType.STRING ? 8 : itemType === GgufType.ARRAY ? 12 : GGUF_TYPE_BYTES[itemType];
  const count = c.size(`${what} array count`, Math.max(0, Math.floor((c.left - 8) / minItem)));
  const values: GgufValue[] = new Array<GgufValue>(count);
  for (let i = 0; i < count; i++) values[i] = readValue(c, itemType, `${what}[${i}]`, depth + 1);
  return { itemType, values };
}

/** What the metadata alone says: enough for the vocabulary and the config, without the tensors. */
export type GgufHeader = Pick<GgufFile, 'path' | 'version' | 'metadata'>;

/** Magic, version, counts and metadata from the cursor's start; the tensor count bounded by `fileSize`. */
function parseHead(c: Cursor, fileSize: number): GgufHeader & { nTensors: number } {
  const buf = c.buf;
  const path = c.path;
  if (buf.length < 4 || !buf.subarray(0, 4).equals(GGUF_MAGIC)) {
    c.fail(`not a GGUF file: the first bytes are ${buf.subarray(0, 4).toString('hex') || '(none)'}, expected the magic 'GGUF' (47475546)`);
  }
  c.pos = 4;
  const version = c.u32('version');
  if (version === 1) c.fail('GGUF version 1 is not supported (it used 32-bit counts); expected version 2 or 3 — convert it again with a current llama.cpp');
  if (!(GGUF_VERSIONS as readonly number[]).includes(version)) c.fail(`GGUF version ${version}; expected 2 or 3`);
  // A tensor info takes at least 8 (name) + 4 + 8 (one dim) + 4 + 8 bytes; a kv at least 8 + 4 + 1.
  const nTensors = c.size('tensor count', Math.max(0, Math.floor((fileSize - 24) / 32)));
  const nKv = c.size('metadata kv count', Math.max(0, Math.floor((buf.length - 24) / 13)));
  const metadata = new Map<string, GgufKv>();
  for (let i = 0; i < nKv; i++) {
    const key = c.string(`metadata key ${i}`);
    const what = `metadata '${key}'`;
    if (metadata.has(key)) c.fail(`${what} appears twice (kv ${i})`);
    const type = valueType(c, what);
    metadata.set(key, { type, value: readValue(c, type, what, 0) });
  }
  return { path, version, metadata, nTensors };
}

/** Parses a whole GGUF file held in `buf`; throws one FormatError naming `path` and the field. */
export function parseGguf(path: string, buf: Buffer): GgufFile {
  const c: Cursor = new Cursor(path, buf);
  const { version, metadata, nTensors } = parseHead(c, buf.length);
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const al = metadata.get('general.alignment');
  if (al) {
    const v = al.value;
    if (al.type !== GgufType.UINT32 || typeof v !== 'number' || v === 0 || (v & (v - 1)) !== 0) {
      c.fail(`metadata 'general.alignment' is ${GGUF_TYPE_NAMES[al.type]} ${String(typeof v === 'object' ? '[array]' : v)}; expected a UINT32 power of two`);
    }
    alignment = v;
  }
  const tensors: GgufTensorInfo[] = [];
  const tensorByName = new Map<string, GgufTensorInfo>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.string(`tensor info ${i} name`);
    const what = `tensor '${name}'`;
    if (tensorByName.has(name)) c.fail(`${what} appears twice (tensor info ${i})`);
    const nDims = c.u32(`${what} n_dims`);
    if (nDims < 1 || nDims > GGUF_MAX_DIMS) c.fail(`${what} has n_dims ${nDims}; expected 1..${GGUF_MAX_DIMS}`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) {
      const at = c.pos;
      const v = c.size(`${what} dim ${d}`, 8 * buf.length);
      if (v === 0) c.fail(`${what} dim ${d} is 0 at byte ${at}; expected at least 1`);
      dims.push(v);
    }
    const typeAt = c.pos;
    const type = c.u32(`${what} type`);
    const info = GGML_TYPES[type];
    if (!info) c.fail(`${what} has tensor type ${ggmlTypeLabel(type)} at byte ${typeAt}; expected a ggml type such as F32 (0), F16 (1), Q8_0 (8), Q4_K (12)`);
    const offset = c.size(`${what} data offset`, buf.length);
    if (offset % alignment !== 0) c.fail(`${what} data offset ${offset} is not a multiple of the alignment ${alignment}`);
    if (dims[0] % info.blockSize !== 0) c.fail(`${what} has ${dims[0]} elements per row, not a multiple of the ${info.name} block size ${info.blockSize}`);
    const nElementsBig = dims.reduce((a, b) => a * BigInt(b), 1n);
    const nBytesBig = (nElementsBig / BigInt(info.blockSize)) * BigInt(info.typeSize);
    if (nBytesBig > BigInt(buf.length)) c.fail(`${what} of shape [${dims.join(', ')}] ${info.name} needs ${nBytesBig} bytes, but the file has only ${buf.length}`);
    const t: GgufTensorInfo = { name, dims, type, offset, nElements: Number(nElementsBig), nBytes: Number(nBytesBig) };
    tensors.push(t);
    tensorByName.set(name, t);
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  for (const t of tensors) {
    const end = dataStart + t.offset + t.nBytes;
    if (end > buf.length) c.fail(`tensor '${t.name}' data ends at byte ${end} but the file has ${buf.length} (truncated?)`);
  }
  const readF32 = (name: string): Float32Array => {
    const t = tensorByName.get(name);
    if (!t) c.fail(`has no tensor named '${name}'`);
    if (!READABLE_GGML_TYPES.includes(t.type)) {
      c.fail(`tensor '${name}' has type ${ggmlTypeLabel(t.type)}, which distill does not dequantize; expected one of ${READABLE_GGML_TYPES.map(ggmlTypeLabel).join(', ')}`);
    }
    const out = new Float32Array(t.nElements);
    dequantize(t.type, buf.subarray(dataStart + t.offset, dataStart + t.offset + t.nBytes), out);
    return out;
  };
  return { path, version, alignment, metadata, tensors, tensorByName, dataStart, readF32 };
}

export function readGguf(path: string): GgufFile {
  return parseGguf(path, readFileSync(path));
}

/**
 * The metadata of a GGUF file read from as few leading bytes as it takes (a model of gigabytes
 * gives its vocabulary without its weights being read): 1 MiB first, doubled while the metadata
 * runs past what was read.
 */
export function readGgufHeader(path: string): GgufHeader {
  const fileSize = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    for (let n = Math.min(fileSize, 1 << 20); ; n = Math.min(fileSize, 2 * n)) {
      const buf = Buffer.alloc(n);
      readSync(fd, buf, 0, n, 0);
      try {
        const { version, metadata } = parseHead(new Cursor(path, buf), fileSize);
        return { path, version, metadata };
      } catch (e) {
        if (n === fileSize || !(e instanceof FormatError)) throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** True when the first bytes are the GGUF magic. */
export const looksLikeGguf = (head: Uint8Array): boolean => head.length >= 4 && Buffer.from(head.subarray(0, 4)).equals(GGUF_MAGIC);

// Typed metadata getters: each names the key and the expected type when it is absent or wrong.

/** The kv; null when absent and the caller has a fallback; FormatError when absent without one. */
function present(f: GgufHeader, key: string, hasFallback: boolean, expected: string): GgufKv | null {
  const kv = f.metadata.get(key);
  if (!kv && !hasFallback) throw new FormatError(f.path, `metadata '${key}' is missing; expected ${expected}`);
  return kv ?? null;
}
const describe = (kv: GgufKv): string => kv.type === GgufType.ARRAY ? `an ARRAY of ${GGUF_TYPE_NAMES[(kv.value as GgufArray).itemType]}` : `${GGUF_TYPE_NAMES[kv.type]} ${String(kv.value)}`;
const INT_TYPES: readonly number[] = [GgufType.UINT8, GgufType.INT8, GgufType.UINT16, GgufType.INT16, GgufType.UINT32, GgufType.INT32, GgufType.UINT64, GgufType.INT64];

/** An integer-typed value as a number; `fallback` when absent (or FormatError when no fallback). */
export function ggufInt(f: GgufHeader, key: string, fallback?: number): number {
  const kv = present(f, key, fallback !== undefined, 'an integer');
  if (!kv) return fallback as number;
  if (!INT_TYPES.includes(kv.type) || typeof kv.value !== 'number') throw new FormatError(f.path, `metadata '${key}' is ${describe(kv)}; expected an integer within 2^53`);
  return kv.value;
}

/** A FLOAT32/FLOAT64 (or integer) value as a number. */
export function ggufFloat(f: GgufHeader, key: string, fallback?: number): number {
  const kv = present(f, key, fallback !== undefined, 'a number');
  if (!kv) return fallback as number;
  if (typeof kv.value !== 'number' || kv.type === GgufType.BOOL) throw new FormatError(f.path, `metadata '${key}' is ${describe(kv)}; expected a number`);
  return kv.value;
}

export function ggufString(f: GgufHeader, key: string, fallback?: string): string {
  const kv = present(f, key, fallback !== undefined, 'a STRING');
  if (!kv) return fallback as string;
  if (kv.type !== GgufType.STRING) throw new FormatError(f.path, `metadata '${key}' is ${describe(kv)}; expected a STRING`);
  return kv.value as string;
}

export function ggufBool(f: GgufHeader, key: string, fallback: boolean): boolean {
  const kv = present(f, key, true, 'a BOOL');
  if (!kv) return fallback;
  if (kv.type !== GgufType.BOOL) throw new FormatError(f.path, `metadata '${key}' is ${describe(kv)}; expected a BOOL`);
  return kv.value as boolean;
}

/** An ARRAY whose items are all of `itemTypes`; undefined when absent. */
export function ggufArray(f: GgufHeader, key: string, itemTypes: readonly number[]): GgufValue[] | undefined {
  const kv = present(f, key, true, 'an ARRAY');
  if (!kv) return undefined;
  if (kv.type !== GgufType.ARRAY || !itemTypes.includes((kv.value as GgufArray).itemType)) {
    throw new FormatError(f.path, `metadata '${key}' is ${describe(kv)}; expected an ARRAY of ${itemTypes.map((t) => GGUF_TYPE_NAMES[t]).join(' or ')}`);
  }
  return (kv.value as GgufArray).values;
}

export const GGUF_INT_TYPES = INT_TYPES;
