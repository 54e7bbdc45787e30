// One position's record <-> bytes: bit packing, half floats and the N-bit log-prob codes of
// format.ts, with the renormalization lossy encodings apply on read. It knows nothing of files,
// shards or teachers; callers pass a byte view and an offset.
import { floatToHalf as toHalf, halfToFloat as fromHalf } from '../io/half.js';
import { quantBits, type RecordLayout, type StoreSettings } from './format.js';

export { toHalf, fromHalf };

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Writes the low n (≤ 32) bits of v at bit position pos (LSB-first); buf must be zeroed there. */
export function putBits(buf: Uint8Array, pos: number, v: number, n: number): number {
  v = v >>> 0;
  while (n > 0) {
    const off = pos & 7, take = Math.min(8 - off, n);
    buf[pos >>> 3] |= (v & ((1 << take) - 1)) << off;
    v = take === 32 ? 0 : v >>> take;
    pos += take; n -= take;
  }
  return pos;
}

/** Reads n (≤ 32) bits at bit position pos as an unsigned number. */
export function getBits(buf: Uint8Array, pos: number, n: number): number {
  let r = 0, shift = 0;
  while (n > 0) {
    const off = pos & 7, take = Math.min(8 - off, n);
    r += ((buf[pos >>> 3] >>> off) & ((1 << take) - 1)) * 2 ** shift;
    shift += take; pos += take; n -= take;
  }
  return r;
}

function f32Bits(x: number): number { f32[0] = x; return u32[0]; }
function bitsF32(b: number): number { u32[0] = b; return f32[0]; }

/**
 * Encodes one position: ids (k) i32 with −1 for empty slots (kept ids first, in rank order),
 * logProbs (k) f32, tail -> out[at .. at+recordBytes) (zeroed here first).
 */
export function encodeRecord(out: Uint8Array, at: number, ids: Int32Array, logProbs: Float32Array, idsAt: number,
  tail: number, L: RecordLayout, s: StoreSettings): void {
  const k = s.k;
  out.fill(0, at, at + L.recordBytes);
  let m = 0;
  while (m < k && ids[idsAt + m] >= 0) m++;
  let pos = at * 8;
  pos = putBits(out, pos, m, L.countBits);
  for (let e = 0; e < k; e++) pos = putBits(out, pos, e < m ? ids[idsAt + e] : 0, L.idBits);
  const q = quantBits(s.encoding);
  if (q !== null) {
    let lo = 0;
    for (let e = 0; e < m; e++) lo = Math.min(lo, logProbs[idsAt + e]);
    const loMax = 2 ** L.loBits - 1;
    const loCode = Math.max(0, Math.min(loMax, Math.floor(((lo - s.lpFloor) / -s.lpFloor) * loMax)));
    const loQ = s.lpFloor + (loCode * -s.lpFloor) / loMax;
    pos = putBits(out, pos, loCode, L.loBits);
    const levels = 2 ** q - 1, R = -loQ;
    for (let e = 0; e < k; e++) {
      const c = e < m && R > 0 ? Math.max(0, Math.min(levels, Math.round(((logProbs[idsAt + e] - loQ) / R) * levels))) : 0;
      pos = putBits(out, pos, c, q);
    }
    const tMax = 2 ** L.tailBits - 1;
    putBits(out, pos, Math.max(0, Math.min(tMax, Math.round(tail * tMax))), L.tailBits);
  } else if (s.encoding === 'f16') {
    for (let e = 0; e < k; e++) pos = putBits(out, pos, e < m ? toHalf(logProbs[idsAt + e]) : 0, 16);
    putBits(out, pos, toHalf(tail), 16);
  } else {
    for (let e = 0; e < k; e++) pos = putBits(out, pos, e < m ? f32Bits(logProbs[idsAt + e]) : 0, 32);
    putBits(out, pos, f32Bits(tail), 32);
  }
}

/**
 * Decodes the record at buf[at..] into ids/logProbs at idsAt (k slots; empty: −1 / −Infinity)
 * and returns the tail. Lossy encodings are shifted so Σ exp(lp) + tail = 1 (f32 is as stored).
 */
export function decodeRecord(ids: Int32Array, logProbs: Float32Array, idsAt: number, buf: Uint8Array, at: number,
  L: RecordLayout, s: StoreSettings): number {
  const k = s.k;
  let pos = at * 8;
  const m = getBits(buf, pos, L.countBits); pos += L.countBits;
  for (let e = 0; e < k; e++) { const id = getBits(buf, pos, L.idBits); pos += L.idBits; ids[idsAt + e] = e < m ? id : -1; }
  const q = quantBits(s.encoding);
  let tail: number;
  if (q !== null) {
    const loMax = 2 ** L.loBits - 1;
    const loQ = s.lpFloor + (getBits(buf, pos, L.loBits) * -s.lpFloor) / loMax; pos += L.loBits;
    const levels = 2 ** q - 1, R = -loQ;
    for (let e = 0; e < k; e++) { const c = getBits(buf, pos, q); pos += q; logProbs[idsAt + e] = e < m ? loQ + (c * R) / levels : -Infinity; }
    tail = getBits(buf, pos, L.tailBits) / (2 ** L.tailBits - 1);
  } else if (s.encoding === 'f16') {
    for (let e = 0; e < k; e++) { const h = getBits(buf, pos, 16); pos += 16; logProbs[idsAt + e] = e < m ? fromHalf(h) : -Infinity; }
    tail = fromHalf(getBits(buf, pos, 16));
  } else {
    for (let e = 0; e < k; e++) { const b = getBits(buf, pos, 32); pos += 32; logProbs[idsAt + e] = e < m ? bitsF32(b) : -Infinity; }
    return bitsF32(getBits(buf, pos, 32));
  }
  // renormalize the kept mass to 1 − tail (quantization moved both)
  let sum = 0;
  for (let e = 0; e < m; e++) sum += Math.exp(logProbs[idsAt + e]);
  tail = Math.min(Math.max(tail, 0), 1);
  if (sum > 0 && tail < 1) {
    const shift = Math.log((1 - tail) / sum);
    for (let e = 0; e < m; e++) logProbs[idsAt + e] += shift;
  }
  return tail;
}
