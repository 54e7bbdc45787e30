// Reference elementwise activations over n elements: SiLU, GELU (tanh approximation), SwiGLU.
// Forward may run in place (out === inp); backward gradients are overwritten, never accumulated.
import { needLen, needSizes } from './check.js';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const GELU_S = Math.sqrt(2 / Math.PI); // √(2/π), the tanh-approximation constant
const GELU_C = 0.044715;

/** inp (n) -> out (n) = x * sigmoid(x); out may alias inp. */
export function siluForward(out: Float32Array, inp: Float32Array, n: number): void {
  needSizes('siluForward', { n }); needLen('siluForward', 'out', out, n); needLen('siluForward', 'inp', inp, n);
  for (let i = 0; i < n; i++) { const x = inp[i]; out[i] = x * sigmoid(x); }
}

/** dOut (n), inp (n) -> dInp (n) = dOut * s(x)(1 + x(1 - s(x))). */
export function siluBackward(dInp: Float32Array, dOut: Float32Array, inp: Float32Array, n: number): void {
  needSizes('siluBackward', { n });
  needLen('siluBackward', 'dInp', dInp, n); needLen('siluBackward', 'dOut', dOut, n); needLen('siluBackward', 'inp', inp, n);
  for (let i = 0; i < n; i++) { const x = inp[i], s = sigmoid(x); dInp[i] = dOut[i] * s * (1 + x * (1 - s)); }
}

/** inp (n) -> out (n) = 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))); out may alias inp. */
export function geluForward(out: Float32Array, inp: Float32Array, n: number): void {
  needSizes('geluForward', { n }); needLen('geluForward', 'out', out, n); needLen('geluForward', 'inp', inp, n);
  for (let i = 0; i < n; i++) {
    const x = inp[i];
    out[i] = 0.5 * x * (1 + Math.tanh(GELU_S * (x + GELU_C * x * x * x)));
  }
}

/** dOut (n), inp (n) -> dInp (n) = dOut * d/dx gelu(x). */
export function geluBackward(dInp: Float32Array, dOut: Float32Array, inp: Float32Array, n: number): void {
  needSizes('geluBackward', { n });
  needLen('geluBackward', 'dInp', dInp, n); needLen('geluBackward', 'dOut', dOut, n); needLen('geluBackward', 'inp', inp, n);
  for (let i = 0; i < n; i++) {
    const x = inp[i];
    const th = Math.tanh(GELU_S * (x + GELU_C * x * x * x));
    const d = 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * GELU_S * (1 + 3 * GELU_C * x * x);
    dInp[i] = dOut[i] * d;
  }
}

/** gate (n), up (n) -> out (n) = silu(gate) * up. */
export function swigluForward(out: Float32Array, gate: Float32Array, up: Float32Array, n: number): void {
  needSizes('swigluForward', { n });
  needLen('swigluForward', 'out', out, n); needLen('swigluForward', 'gate', gate, n); needLen('swigluForward', 'up', up, n);
  for (let i = 0; i < n; i++) { const g = gate[i]; out[i] = g * sigmoid(g) * up[i]; }
}

/** dOut (n), gate, up -> dGate = dOut * up * silu'(gate), dUp = dOut * silu(gate); both overwritten. */
export function swigluBackward(dGate: Float32Array, dUp: Float32Array, dOut: Float32Array, gate: Float32Array,
                               up: Float32Array, n: number): void {
  const op = 'swigluBackward';
  needSizes(op, { n });
  needLen(op, 'dGate', dGate, n); needLen(op, 'dUp', dUp, n); needLen(op, 'dOut', dOut, n);
  needLen(op, 'gate', gate, n); needLen(op, 'up', up, n);
  for (let i = 0; i < n; i++) {
    const g = gate[i], u = up[i], d = dOut[i], s = sigmoid(g);
    dGate[i] = d * u * s * (1 + g * (1 - s));
    dUp[i] = d * g * s;
  }
}
