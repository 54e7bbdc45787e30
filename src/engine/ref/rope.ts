// Reference rotary position embedding in both pairings ('interleaved' llama2.c, 'half' HF).
// Reads cos/sin tables (T,HS/2) made by src/engine/rope-tables.ts; it never computes angles.
import type { RopeMode } from '../backend.js';
import { needLen, needSizes } from './check.js';

function checkRope(op: string, out: Float32Array, inp: Float32Array, cos: Float32Array, sin: Float32Array,
                   B: number, T: number, NH: number, HS: number, mode: RopeMode): void {
  needSizes(op, { B, T, NH, HS });
  if (HS % 2 !== 0) throw new RangeError(`${op}: head size HS=${HS} must be even`);
  if (mode !== 'interleaved' && mode !== 'half') throw new RangeError(`${op}: mode must be 'interleaved' or 'half', got '${String(mode)}'`);
  needLen(op, 'out', out, B * T * NH * HS); needLen(op, 'inp', inp, B * T * NH * HS);
  needLen(op, 'cos', cos, T * (HS / 2)); needLen(op, 'sin', sin, T * (HS / 2));
}

/** Rotates every pair by angle sign*θ(t,i); both values are read before either is written. */
function rotate(out: Float32Array, inp: Float32Array, cos: Float32Array, sin: Float32Array,
                B: number, T: number, NH: number, HS: number, mode: RopeMode, sign: number): void {
  const half = HS / 2;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < NH; h++) {
        const base = ((b * T + t) * NH + h) * HS;
        for (let i = 0; i < half; i++) {
          const i0 = base + (mode === 'interleaved' ? 2 * i : i);
          const i1 = base + (mode === 'interleaved' ? 2 * i + 1 : i + half);
          const c = cos[t * half + i], s = sign * sin[t * half + i];
          const x0 = inp[i0], x1 = inp[i1];
          out[i0] = x0 * c - x1 * s;
          out[i1] = x0 * s + x1 * c;
        }
      }
    }
  }
}

/** inp (B,T,NH,HS), cos/sin (T,HS/2) -> out (B,T,NH,HS); out may alias inp. */
export function ropeForward(out: Float32Array, inp: Float32Array, cos: Float32Array, sin: Float32Array,
                            B: number, T: number, NH: number, HS: number, mode: RopeMode): void {
  checkRope('ropeForward', out, inp, cos, sin, B, T, NH, HS, mode);
  rotate(out, inp, cos, sin, B, T, NH, HS, mode, 1);
}

/** dOut (B,T,NH,HS) -> dInp (B,T,NH,HS) = rotation by the negative angle; dInp may alias dOut. */
export function ropeBackward(dInp: Float32Array, dOut: Float32Array, cos: Float32Array, sin: Float32Array,
                             B: number, T: number, NH: number, HS: number, mode: RopeMode): void {
  checkRope('ropeBackward', dInp, dOut, cos, sin, B, T, NH, HS, mode);
  rotate(dInp, dOut, cos, sin, B, T, NH, HS, mode, -1);
}
