// Serializes a GGUF v3 file from metadata key/values and already-encoded tensor bytes: header,
// typed metadata (arrays included), tensor infos, zero padding to the alignment before the data
// section and between tensors, atomic write. It knows no model or tokenizer (gguf-write.ts does).

import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_TYPE_BYTES, GgufType } from './gguf-format.js';
import type { GgufArray, GgufKv, GgufValue } from './gguf.js';

export interface GgufTensorToWrite {
  name: string;
  /** ggml order (dims[0] contiguous). */
  dims: number[];
  type: number;
  data: Uint8Array;
}

/** Growable little-endian byte sink. */
class Sink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const bigger = Buffer.alloc(Math.max(2 * this.buf.length, this.length + n));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  // room() may replace this.buf, so it runs before this.buf is read.
  u32(v: number): void { const at = this.room(4); this.buf.writeUInt32LE(v, at); }
  u64(v: number | bigint): void { const at = this.room(8); this.buf.writeBigUInt64LE(BigInt(v), at); }
  bytes(b: Uint8Array): void { const at = this.room(b.length); this.buf.set(b, at); }
  string(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.bytes(b); }
  padTo(alignment: number): void { this.room((alignment - (this.length % alignment)) % alignment); }
  scalar(type: number, v: GgufValue): void {
    if (type === GgufType.STRING) { this.string(v as string); return; }
    if (type === GgufType.ARRAY) {
      const a = v as GgufArray;
      this.u32(a.itemType);
      this.u64(a.values.length);
      for (const x of a.values) this.scalar(a.itemType, x);
      return;
    }
    const at = this.room(GGUF_TYPE_BYTES[type]);
    const b = this.buf;
    switch (type) {
      case GgufType.UINT8: b.writeUInt8(v as number, at); break;
      case GgufType.INT8: b.writeInt8(v as number, at); break;
      case GgufType.UINT16: b.writeUInt16LE(v as number, at); break;
      case GgufType.INT16: b.writeInt16LE(v as number, at); break;
      case GgufType.UINT32: b.writeUInt32LE(v as number, at); break;
      case GgufType.INT32: b.writeInt32LE(v as number, at); break;
      case GgufType.FLOAT32: b.writeFloatLE(v as number, at); break;
      case GgufType.BOOL: b.writeUInt8(v ? 1 : 0, at); break;
      case GgufType.UINT64: b.writeBigUInt64LE(BigInt(v as number | bigint), at); break;
      case GgufType.INT64: b.writeBigInt64LE(BigInt(v as number | bigint), at); break;
      case GgufType.FLOAT64: b.writeDoubleLE(v as number, at); break;
      default: throw new RangeError(`GGUF value type ${type} is not one of 0..12`);
    }
  }
  take(): Buffer { return this.buf.subarray(0, this.length); }
}

/** The whole file as bytes. `general.alignment`, when in `kvs`, must be a UINT32 power of two. */
export function encodeGguf(kvs: [string, GgufKv][], tensors: GgufTensorToWrite[]): Buffer {
  const al = kvs.find(([k]) => k === 'general.alignment')?.[1];
  const alignment = al ? (al.value as number) : GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) throw new RangeError(`general.alignment ${alignment} is not a power of two`);
  const s = new Sink();
  s.bytes(GGUF_MAGIC);
  s.u32(3);
  s.u64(tensors.length);
  s.u64(kvs.length);
  for (const [key, kv] of kvs) {
    s.string(key);
    s.u32(kv.type);
    s.scalar(kv.type, kv.value);
  }
  let offset = 0;
  for (const t of tensors) {
    s.string(t.name);
    s.u32(t.dims.length);
    for (const d of t.dims) s.u64(d);
    s.u32(t.type);
    s.u64(offset);
    offset += Math.ceil(t.data.length / alignment) * alignment;
  }
  s.padTo(alignment);
  for (const t of tensors) {
    s.bytes(t.data);
    s.padTo(alignment);
  }
  return s.take();
}
