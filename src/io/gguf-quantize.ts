// Quantizers for the GGUF writer: f32 rows -> ggml blocks of F16, Q8_0, Q4_0 (ggml's reference
// rounding, quantize_row_*_ref), and simple, correct Q4_K / Q6_K (one pass of min/max scales, not
// llama.cpp's error-minimizing search). The byte layouts are the ones gguf-quant.ts reads back.

import { GGML_TYPES, GgmlType } from './gguf-format.js';
import { floatToHalf, halfToFloat } from './half.js';

const QK = 32, QK_K = 256;
const fr = Math.fround;
/** C's roundf: halves away from zero. */
const roundAway = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

function putHalf(out: Uint8Array, at: number, x: number): number {
  const h = floatToHalf(x);
  out[at] = h & 0xff;
  out[at + 1] = h >> 8;
  return halfToFloat(h);
}

/** Q8_0: d = max|x| / 127, q = roundf(x / d). */
function q8_0(x: Float32Array, out: Uint8Array): void {
  for (let b = 0; b < x.length / QK; b++) {
    const at = 34 * b, y = QK * b;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[y + j]));
    const d = fr(amax / 127), id = d ? fr(1 / d) : 0;
    putHalf(out, at, d);
    for (let j = 0; j < QK; j++) out[at + 2 + j] = roundAway(fr(x[y + j] * id)) & 0xff;
  }
}

/** Q4_0: d = (the value of largest magnitude) / -8, q = min(15, trunc(x / d + 8.5)); element j low nibble, j+16 high. */
function q4_0(x: Float32Array, out: Uint8Array): void {
  for (let b = 0; b < x.length / QK; b++) {
    const at = 18 * b, y = QK * b;
    let amax = 0, max = 0;
    for (let j = 0; j < QK; j++) if (Math.abs(x[y + j]) > amax) { amax = Math.abs(x[y + j]); max = x[y + j]; }
    const d = fr(max / -8), id = d ? fr(1 / d) : 0;
    putHalf(out, at, d);
    const q = (v: number): number => Math.min(15, Math.trunc(fr(fr(v * id) + 8.5)));
    for (let j = 0; j < 16; j++) out[at + 2 + j] = q(x[y + j]) | (q(x[y + 16 + j]) << 4);
  }
}

/**
 * Q4_K: each 32-element sub-block j gets scale s_j = (max - min) / 15 and min m_j = -min (min
 * clamped to <= 0, as ggml does); both are stored as 6-bit multiples of the block's f16 d and dmin.
 */
function q4_K(x: Float32Array, out: Uint8Array): void {
  for (let b = 0; b < x.length / QK_K; b++) {
    const at = 144 * b, y = QK_K * b;
    const scale = new Float64Array(8), mins = new Float64Array(8);
    for (let j = 0; j < 8; j++) {
      let lo = 0, hi = -Infinity;
      for (let l = 0; l < 32; l++) { lo = Math.min(lo, x[y + 32 * j + l]); hi = Math.max(hi, x[y + 32 * j + l]); }
      scale[j] = (hi - lo) / 15;
      mins[j] = -lo;
    }
    const d = putHalf(out, at, Math.max(...scale) / 63), dmin = putHalf(out, at + 2, Math.max(...mins) / 63);
    const sc = scale.map((s) => (d ? clamp(Math.round(s / d), 0, 63) : 0)), m = mins.map((v) => (dmin ? clamp(Math.round(v / dmin), 0, 63) : 0));
    for (let j = 0; j < 4; j++) {
      out[at + 4 + j] = sc[j] | ((sc[j + 4] >> 4) << 6);
      out[at + 8 + j] = m[j] | ((m[j + 4] >> 4) << 6);
      out[at + 12 + j] = (sc[j + 4] & 0xf) | ((m[j + 4] & 0xf) << 4);
    }
    const q = (e: number): number => {
      const j = e >> 5, step = d * sc[j];
      return step ? clamp(Math.round((x[y + e] + dmin * m[j]) / step), 0, 15) : 0;
    };
    for (let g = 0; g < 4; g++) {
      for (let l = 0; l < 32; l++) out[at + 16 + 32 * g + l] = q(64 * g + l) | (q(64 * g + 32 + l) << 4);
    }
  }
}

/** Q6_K: each 16-element sub-block gets scale max|x| / 31 as an int8 multiple of the block's f16 d; q in -32..31. */
function q6_K(x: Float32Array, out: Uint8Array): void {
  for (let b = 0; b < x.length / QK_K; b++) {
    const at = 210 * b, y = QK_K * b;
    const scale = new Float64Array(16);
    for (let s = 0; s < 16; s++) for (let l = 0; l < 16; l++) scale[s] = Math.max(scale[s], Math.abs(x[y + 16 * s + l]) / 31);
    const d = putHalf(out, at + 208, Math.max(...scale) / 127);
    const sc = scale.map((v) => (d ? clamp(Math.round(v / d), 0, 127) : 0));
    for (let s = 0; s < 16; s++) out[at + 192 + s] = sc[s];
    const q = (e: number): number => {
      const step = d * sc[e >> 4];
      return (step ? clamp(Math.round(x[y + e] / step), -32, 31) : 0) + 32;
    };
    for (let h = 0; h < 2; h++) {
      for (let l = 0; l < 32; l++) {
        const e = 128 * h + l;
        const q1 = q(e), q2 = q(e + 32), q3 = q(e + 64), q4 = q(e + 96);
        out[at + 64 * h + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
        out[at + 64 * h + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
        out[at + 128 + 32 * h + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  }
}

/** The types the writer emits. */
export const WRITABLE_GGML_TYPES: readonly number[] = [GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K];

/** `x` (whole rows of a tensor; length a multiple of the block size) as ggml type `type` bytes. */
export function quantize(type: number, x: Float32Array): Uint8Array {
  const info = GGML_TYPES[type];
  if (!WRITABLE_GGML_TYPES.includes(type) || x.length % info.blockSize !== 0) {
    throw new RangeError(`quantize: cannot write ${x.length} values as ggml type ${info?.name ?? type}`);
  }
  const out = new Uint8Array((x.length / info.blockSize) * info.typeSize);
  switch (type) {
    case GgmlType.F32: out.set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)); break; // little-endian host
    case GgmlType.F16: for (let i = 0; i < x.length; i++) putHalf(out, 2 * i, x[i]); break;
    case GgmlType.Q8_0: q8_0(x, out); break;
    case GgmlType.Q4_0: q4_0(x, out); break;
    case GgmlType.Q4_K: q4_K(x, out); break;
    case GgmlType.Q6_K: q6_K(x, out); break;
  }
  return out;
}
