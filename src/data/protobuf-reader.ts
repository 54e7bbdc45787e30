// A minimal protobuf wire-format reader (varint, 64-bit, length-delimited, 32-bit), enough to walk
// a SentencePiece ModelProto. Hand-written instead of protobufjs: ModelProto needs a handful of
// fields, and 100 lines with no schema compiler or dependency are easier to audit. No writer.

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export interface ProtoField {
  field: number;
  wire: number;
  /** Varint value (a JS number: exact up to 2^53, enough for the enums, bools and lengths we read), or a fixed field's low 32 bits. */
  int: number;
  /** Payload for length-delimited fields. */
  bytes: Uint8Array;
  /** Byte offset of the field's tag, for error messages. */
  offset: number;
}

export class ProtoDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoDecodeError';
  }
}

/** Yields the fields of one message in order. Throws ProtoDecodeError on truncation or a bad wire type. */
export function* readFields(buf: Uint8Array): Generator<ProtoField> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new ProtoDecodeError(`varint runs past the end at byte ${pos}`);
      const b = buf[pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new ProtoDecodeError(`varint longer than 10 bytes at byte ${pos}`);
  };
  const empty = new Uint8Array(0);
  while (pos < buf.length) {
    const offset = pos;
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new ProtoDecodeError(`field number 0 at byte ${offset}`);
    switch (wire) {
      case WIRE_VARINT:
        {
        const int = varint();
        yield { field, wire, int, bytes: empty, offset };
      }
        break;
      case WIRE_I64: {
        if (pos + 8 > buf.length) throw new ProtoDecodeError(`64-bit field ${field} runs past the end at byte ${pos}`);
        const lo = view.getUint32(pos, true);
        pos += 8;
        yield { field, wire, int: lo, bytes: buf.subarray(pos - 8, pos), offset };
        break;
      }
      case WIRE_LEN: {
        const len = varint();
        if (pos + len > buf.length) throw new ProtoDecodeError(`field ${field} of ${len} bytes at byte ${pos} runs past the end (${buf.length} bytes)`);
        yield { field, wire, int: len, bytes: buf.subarray(pos, pos + len), offset };
        pos += len;
        break;
      }
      case WIRE_I32: {
        if (pos + 4 > buf.length) throw new ProtoDecodeError(`32-bit field ${field} runs past the end at byte ${pos}`);
        const v = view.getUint32(pos, true);
        yield { field, wire, int: v, bytes: buf.subarray(pos, pos + 4), offset };
        pos += 4;
        break;
      }
      default:
        throw new ProtoDecodeError(`unsupported wire type ${wire} for field ${field} at byte ${offset}`);
    }
  }
}

/** float32 from a WIRE_I32 field. */
export function fieldFloat(f: ProtoField): number {
  return new DataView(f.bytes.buffer, f.bytes.byteOffset, 4).getFloat32(0, true);
}

export function fieldString(f: ProtoField): string {
  return utf8.decode(f.bytes);
}

// ignoreBOM: a piece may be exactly U+FEFF (the Llama 2 vocabulary has one); do not strip it.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
