// Reference AdamW step, PyTorch semantics (decoupled weight decay, bias-corrected moments).
// Updates params, m and v in place; the arithmetic of one element is done in float64.
import { needLen, needSizes } from './check.js';

/**
 * params, grads, m, v (n) f32; step >= 1. In place:
 * p -= lr*wd*p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
 * p -= lr * (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps).
 */
export function adamwStep(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array, n: number,
                          lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void {
  const op = 'adamwStep';
  needSizes(op, { n });
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`${op}: step must be an integer >= 1 (the first step is 1), got ${step}`);
  needLen(op, 'params', params, n); needLen(op, 'grads', grads, n); needLen(op, 'm', m, n); needLen(op, 'v', v, n);
  const bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
  for (let i = 0; i < n; i++) {
    const g = grads[i];
    let p = params[i] * (1 - lr * weightDecay);
    const mi = beta1 * m[i] + (1 - beta1) * g;
    const vi = beta2 * v[i] + (1 - beta2) * g * g;
    p -= (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
    params[i] = p; m[i] = mi; v[i] = vi;
  }
}
