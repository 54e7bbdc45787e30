// Reference bf16 weights (Backend.packBf16 / gemmBf16): values rounded to bf16 (round to nearest
// even, NaN kept quiet: torch's .bfloat16()), stored row-major (N,K) as Uint16Array; the product
// sums the rounded values in float64. The spec native's 'amx' and 'emulated' paths are checked against.
import type { Bf16Weight } from '../backend.js';
import { checkBf16Weight } from '../bf16-weight.js';
import { needLen, needSizes } from './check.js';

export const REF_BF16_LAYOUT = 'ref-rowmajor';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** fp32 -> bf16 bits, round to nearest even (NaN -> 0x7fc0). */
export function toBf16(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bf16 bits -> the fp32 value. */
export function fromBf16(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** x rounded to the nearest bf16 value, as a number. */
export const roundBf16 = (x: number): number => fromBf16(toBf16(x));

export function packBf16(w: Float32Array, N: number, K: number): Bf16Weight {
  needSizes('packBf16', { N, K });
  needLen('packBf16', 'w', w, N * K);
  const data = new Uint16Array(N * K);
  for (let i = 0; i < N * K; i++) data[i] = toBf16(w[i]);
  return { N, K, layout: REF_BF16_LAYOUT, data };
}

export function gemmBf16(c: Float32Array, a: Float32Array, w: Bf16Weight, M: number, N: number, beta: number): void {
  const K = w.K;
  checkBf16Weight('gemmBf16', REF_BF16_LAYOUT, w, N);
  needSizes('gemmBf16', { M });
  needLen('gemmBf16', 'c', c, M * N);
  needLen('gemmBf16', 'a', a, M * K);
  const ar = new Float64Array(K);
  for (let i = 0; i < M; i++) {
    for (let p = 0; p < K; p++) ar[p] = roundBf16(a[i * K + p]);
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let p = 0; p < K; p++) acc += ar[p] * fromBf16(w.data[j * K + p]);
      c[i * N + j] = acc + (beta === 0 ? 0 : beta * c[i * N + j]);
    }
  }
}
