// Dequantization of GGUF tensor data to f32, one function per ggml block layout (ggml-common.h,
// ggml-quants.c dequantize_row_*): F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K. Bytes in, floats out:
// no bounds or header checks (gguf.ts checks sizes before calling) and no quantizing (gguf-quantize.ts).

import { GgmlType } from './gguf-format.js';
import { halfToFloat } from './half.js';

const QK = 32; // Q8_0 / Q4_0 block
const QK_K = 256; // k-quant super-block

const half = (b: Uint8Array, at: number): number => halfToFloat(b[at] | (b[at + 1] << 8));

/** Q8_0 block (34 bytes): f16 d, 32 int8 q; x = d * q. */
function q8_0(src: Uint8Array, out: Float32Array): void {
  for (let blk = 0, at = 0; blk < out.length / QK; blk++, at += 34) {
    const d = half(src, at);
    for (let j = 0; j < QK; j++) out[blk * QK + j] = d * ((src[at + 2 + j] << 24) >> 24);
  }
}

/** Q4_0 block (18 bytes): f16 d, 16 bytes; byte j holds element j (low nibble) and j+16 (high); x = (q - 8) * d. */
function q4_0(src: Uint8Array, out: Float32Array): void {
  for (let blk = 0, at = 0; blk < out.length / QK; blk++, at += 18) {
    const d = half(src, at), y = blk * QK;
    for (let j = 0; j < 16; j++) {
      const b = src[at + 2 + j];
      out[y + j] = ((b & 0xf) - 8) * d;
      out[y + j + 16] = ((b >> 4) - 8) * d;
    }
  }
}

/**
 * The 6-bit scale and min of sub-block j (0..7) of a Q4_K block from its 12 packed bytes
 * (ggml-quants.c get_scale_min_k4): j < 4 in the low 6 bits of bytes j and j+4; j >= 4 from the
 * nibbles of byte j+4 plus the top 2 bits of bytes j-4 (scale) and j (min).
 */
export function q4kScaleMin(scales: Uint8Array, at: number, j: number): [sc: number, m: number] {
  if (j < 4) return [scales[at + j] & 63, scales[at + j + 4] & 63];
  const hi = scales[at + j + 4];
  return [(hi & 0xf) | ((scales[at + j - 4] >> 6) << 4), (hi >> 4) | ((scales[at + j] >> 6) << 4)];
}

/**
 * Q4_K super-block (144 bytes): f16 d, f16 dmin, 12 bytes of scales/mins, 128 bytes of nibbles.
 * Each 64 elements use 32 bytes: low nibbles are sub-block 2i, high nibbles 2i+1; x = d*sc*q - dmin*m.
 */
function q4_K(src: Uint8Array, out: Float32Array): void {
  for (let blk = 0, at = 0; blk < out.length / QK_K; blk++, at += 144) {
    const d = half(src, at), dmin = half(src, at + 2);
    const qs = at + 16;
    for (let g = 0; g < 4; g++) {
      const [sc1, m1] = q4kScaleMin(src, at + 4, 2 * g), [sc2, m2] = q4kScaleMin(src, at + 4, 2 * g + 1);
      const d1 = d * sc1, mn1 = dmin * m1, d2 = d * sc2, mn2 = dmin * m2;
      const y = blk * QK_K + 64 * g, q = qs + 32 * g;
      for (let l = 0; l < 32; l++) {
        out[y + l] = d1 * (src[q + l] & 0xf) - mn1;
        out[y + 32 + l] = d2 * (src[q + l] >> 4) - mn2;
      }
    }
  }
}

/**
 * Q6_K super-block (210 bytes): ql[128] low nibbles, qh[64] high 2-bit pairs, 16 int8 scales (one
 * per 16 elements), f16 d; x = d * scale * (q - 32). Each 128-element half uses 64 ql and 32 qh
 * bytes: element l, l+32, l+64, l+96 take ql[l] low, ql[l+32] low, ql[l] high, ql[l+32] high and
 * bits 0-1, 2-3, 4-5, 6-7 of qh[l].
 */
function q6_K(src: Uint8Array, out: Float32Array): void {
  for (let blk = 0, at = 0; blk < out.length / QK_K; blk++, at += 210) {
    const d = half(src, at + 208);
    for (let h = 0; h < 2; h++) {
      const ql = at + 64 * h, qh = at + 128 + 32 * h, sc = at + 192 + 8 * h, y = blk * QK_K + 128 * h;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4, a = src[ql + l], b = src[ql + l + 32], hb = src[qh + l];
        const s = (k: number): number => (src[sc + is + k] << 24) >> 24;
        out[y + l] = d * s(0) * (((a & 0xf) | ((hb & 3) << 4)) - 32);
        out[y + l + 32] = d * s(2) * (((b & 0xf) | (((hb >> 2) & 3) << 4)) - 32);
        out[y + l + 64] = d * s(4) * (((a >> 4) | (((hb >> 4) & 3) << 4)) - 32);
        out[y + l + 96] = d * s(6) * (((b >> 4) | (((hb >> 6) & 3) << 4)) - 32);
      }
    }
  }
}

/**
 * Fills `out` (n = out.length elements) from `src`, the tensor's bytes in ggml type `type`.
 * The caller has checked that `type` is one of READABLE_GGML_TYPES and that src holds the bytes n needs.
 */
export function dequantize(type: number, src: Uint8Array, out: Float32Array): void {
  const n = out.length;
  switch (type) {
    case GgmlType.F32: new Uint8Array(out.buffer, out.byteOffset, 4 * n).set(src.subarray(0, 4 * n)); return; // little-endian host
    case GgmlType.F16: for (let i = 0; i < n; i++) out[i] = half(src, 2 * i); return;
    case GgmlType.BF16: {
      const bits = new Uint32Array(out.buffer, out.byteOffset, n);
      for (let i = 0; i < n; i++) bits[i] = (src[2 * i] | (src[2 * i + 1] << 8)) << 16;
      return;
    }
    case GgmlType.Q8_0: q8_0(src, out); return;
    case GgmlType.Q4_0: q4_0(src, out); return;
    case GgmlType.Q4_K: q4_K(src, out); return;
    case GgmlType.Q6_K: q6_K(src, out); return;
    default: throw new RangeError(`dequantize: ggml type ${type} is not one the reader supports`);
  }
}
