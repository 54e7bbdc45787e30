// Reads and writes safetensors files (8-byte little-endian header length, JSON header, raw data).
// Reading converts F32 / F16 / BF16 / F64 tensors to Float32Array; writing emits F32 only.
// Reads the whole file into memory (our models are small); no mmap, no lazy loading.

import { closeSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { FormatError } from './errors.js';
import { floatToBf16, floatToHalf, halfToFloat } from './half.js';

export { halfToFloat };

export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64';
const DTYPE_BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
/** Largest header we accept: real headers are kilobytes; 100 MB means the length is garbage. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte range inside the data section (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  path: string;
  /** The __metadata__ map (string to string); empty when absent. */
  metadata: Record<string, string>;
  entries: Map<string, SafetensorsEntry>;
  /** The tensor converted to f32 (a fresh array). Throws a FormatError naming it when absent. */
  readF32(name: string): Float32Array;
}

export interface TensorToWrite {
  name: string;
  shape: number[];
  data: Float32Array;
}

const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Parses and validates the header; `data` is the whole file. */
export function parseSafetensors(path: string, data: Buffer): SafetensorsFile {
  if (data.length < 8) throw new FormatError(path, `not a safetensors file: ${data.length} bytes, expected at least 8 (header length)`);
  const headerLen = Number(data.readBigUInt64LE(0));
  if (headerLen < 2 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > data.length) {
    throw new FormatError(path, `not a safetensors file or truncated: header length ${headerLen} does not fit in the file's ${data.length} bytes (expected 2..${Math.min(MAX_HEADER_BYTES, data.length - 8)})`);
  }
  let header: unknown;
  try {
    header = JSON.parse(data.subarray(8, 8 + headerLen).toString('utf8'));
  } catch (e) {
    throw new FormatError(path, `safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new FormatError(path, 'safetensors header must be a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = data.length - dataStart;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const r = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof r.dtype !== 'string' || !(r.dtype in DTYPE_BYTES)) {
      throw new FormatError(path, `tensor '${name}' has dtype ${JSON.stringify(r.dtype)}; expected one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
    }
    const dtype = r.dtype as SafetensorsDType;
    if (!Array.isArray(r.shape) || !r.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new FormatError(path, `tensor '${name}' has shape ${JSON.stringify(r.shape)}; expected a list of non-negative integers`);
    }
    const shape = r.shape as number[];
    const off = r.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isInteger(x) && x >= 0)) {
      throw new FormatError(path, `tensor '${name}' has data_offsets ${JSON.stringify(off)}; expected [begin, end]`);
    }
    const [begin, end] = off as [number, number];
    const want = numel(shape) * DTYPE_BYTES[dtype];
    if (end < begin || end - begin !== want) {
      throw new FormatError(path, `tensor '${name}' (${dtype} [${shape.join(', ')}]) spans bytes ${begin}..${end}; expected ${want} bytes`);
    }
    if (end > dataLen) {
      throw new FormatError(path, `tensor '${name}' ends at data byte ${end} but the file holds only ${dataLen} data bytes (truncated?)`);
    }
    entries.set(name, { name, dtype, shape, begin, end });
  }
  const readF32 = (name: string): Float32Array => {
    const e = entries.get(name);
    if (!e) throw new FormatError(path, `has no tensor named '${name}'`);
    const n = numel(e.shape);
    const at = dataStart + e.begin;
    const out = new Float32Array(n);
    switch (e.dtype) {
      case 'F32': new Uint8Array(out.buffer).set(data.subarray(at, at + 4 * n)); break; // little-endian host
      case 'F64': for (let i = 0; i < n; i++) out[i] = data.readDoubleLE(at + 8 * i); break;
      case 'F16': for (let i = 0; i < n; i++) out[i] = halfToFloat(data.readUInt16LE(at + 2 * i)); break;
      case 'BF16': {
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) bits[i] = data.readUInt16LE(at + 2 * i) << 16;
        break;
      }
    }
    return out;
  };
  return { path, metadata, entries, readF32 };
}

export function readSafetensors(path: string): SafetensorsFile {
  return parseSafetensors(path, readFileSync(path));
}

/**
 * Writes tensors in the given order as `dtype` (F32, or F16 / BF16 rounded to nearest even), header
 * padded with spaces to a multiple of 8 bytes.
 * Atomic: writes `<path>.tmp-<pid>` and renames it over `path`.
 */
export function writeSafetensors(path: string, tensors: TensorToWrite[], metadata?: Record<string, string>, dtype: 'F32' | 'F16' | 'BF16' = 'F32'): void {
  const size = DTYPE_BYTES[dtype];
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) throw new FormatError(path, `duplicate or reserved tensor name '${t.name}'`);
    if (numel(t.shape) !== t.data.length) throw new FormatError(path, `tensor '${t.name}': shape [${t.shape.join(', ')}] has ${numel(t.shape)} elements but data has ${t.data.length}`);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + size * t.data.length] };
    offset += size * t.data.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, json);
    for (const t of tensors) {
      if (dtype === 'F32') {
        writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)); // little-endian host
        continue;
      }
      const halves = new Uint16Array(t.data.length);
      for (let i = 0; i < halves.length; i++) halves[i] = dtype === 'F16' ? floatToHalf(t.data[i]) : floatToBf16(t.data[i]);
      writeSync(fd, new Uint8Array(halves.buffer));
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
