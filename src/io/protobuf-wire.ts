// The protobuf wire format, just enough for TensorBoard events and ONNX models: a writer for
// varint / fixed64 / fixed32 / length-delimited fields and a reader that walks fields. No schemas,
// no reflection, no 64-bit integers beyond 2^53 (steps and sizes are far below that); groups are
// rejected.
// Hand-written instead of protobufjs: five message types of a frozen schema need ~150 lines,
// while the package would bring a runtime, Long handling and a second way to describe messages.

export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  private varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`protobuf varint must be a safe non-negative integer, got ${v}`);
    const out: number[] = [];
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** int32 / int64 / uint64 / enum / bool field (wire type 0), non-negative values only. */
  uint(field: number, v: number): this {
    this.key(field, 0);
    this.varint(v);
    return this;
  }

  /** int64 field (wire type 0) that may be negative: ten bytes of two's complement then, as protobuf does. */
  int(field: number, v: number): this {
    if (v >= 0) return this.uint(field, v);
    if (!Number.isSafeInteger(v)) throw new RangeError(`protobuf int64 must be a safe integer, got ${v}`);
    this.key(field, 0);
    let u = BigInt.asUintN(64, BigInt(v));
    const out = new Uint8Array(10);
    for (let i = 0; i < 10; i++) {
      out[i] = Number(u & 0x7fn) | (i < 9 ? 0x80 : 0);
      u >>= 7n;
    }
    this.push(out);
    return this;
  }

  /** double field (wire type 1, little-endian IEEE 754). */
  double(field: number, v: number): this {
    this.key(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.push(b);
    return this;
  }

  /** float field (wire type 5): the value is rounded to f32, as protobuf does. */
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  /** bytes / string / nested message field (wire type 2). Strings are UTF-8 encoded. */
  bytes(field: number, v: Uint8Array | string): this {
    const b = typeof v === 'string' ? new TextEncoder().encode(v) : v;
    this.key(field, 2);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  /** Nested message field: takes m's bytes as they are, without copying them (do not reuse m). */
  message(field: number, m: ProtoWriter): this {
    this.key(field, 2);
    this.varint(m.size);
    for (const c of m.chunks) this.push(c);
    return this;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.size;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** Malformed protobuf bytes (truncation, bad wire type, field number 0); the message has the byte offset. */
export class ProtoDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoDecodeError';
  }
}

/** One decoded field: `value` is a number for wire types 0/1/5, the raw bytes for wire type 2. */
export interface ProtoField {
  field: number;
  wireType: 0 | 1 | 2 | 5;
  /** wire type 0: the integer; 1: the 8 bytes read as f64; 5: the 4 bytes read as f32. */
  num: number;
  /** wire type 2: the payload (a view into the input, not a copy). */
  bytes: Uint8Array;
}

function signedVarint(buf: Uint8Array, start: number, end: number): number {
  let v = 0n;
  for (let i = end - 1; i >= start; i--) v = (v << 7n) | BigInt(buf[i] & 0x7f);
  return Number(BigInt.asIntN(64, v));
}

/** Walks the fields of one message. Throws ProtoDecodeError with the byte offset on malformed input. */
export function* readProtoFields(buf: Uint8Array): Generator<ProtoField> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  // Varints above 2^53 are int64 fields holding negative numbers (an int32 -1 is ten bytes):
  // they are read as two's-complement int64, exact for every value a JS number holds.
  const varint = (): number => {
    const start = pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new ProtoDecodeError(`truncated varint at byte ${pos}`);
      const b = buf[pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return Number.isSafeInteger(result) ? result : signedVarint(buf, start, pos);
      mul *= 0x80;
    }
    throw new ProtoDecodeError(`varint longer than 10 bytes at byte ${pos}`);
  };
  const empty = new Uint8Array(0);
  while (pos < buf.length) {
    const at = pos;
    const key = varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0) throw new ProtoDecodeError(`field number 0 at byte ${at}`);
    if (wireType === 0) {
      yield { field, wireType, num: varint(), bytes: empty };
    } else if (wireType === 1) {
      if (pos + 8 > buf.length) throw new ProtoDecodeError(`truncated fixed64 at byte ${pos}`);
      yield { field, wireType, num: dv.getFloat64(pos, true), bytes: buf.subarray(pos, pos + 8) };
      pos += 8;
    } else if (wireType === 5) {
      if (pos + 4 > buf.length) throw new ProtoDecodeError(`truncated fixed32 at byte ${pos}`);
      yield { field, wireType, num: dv.getFloat32(pos, true), bytes: buf.subarray(pos, pos + 4) };
      pos += 4;
    } else if (wireType === 2) {
      const n = varint();
      if (pos + n > buf.length) throw new ProtoDecodeError(`length-delimited field ${field} runs past the end (byte ${pos}, length ${n})`);
      yield { field, wireType, num: n, bytes: buf.subarray(pos, pos + n) };
      pos += n;
    } else {
      throw new ProtoDecodeError(`unsupported wire type ${wireType} for field ${field} at byte ${pos}`);
    }
  }
}
