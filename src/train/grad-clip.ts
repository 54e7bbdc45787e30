// Global gradient-norm clipping (torch.nn.utils.clip_grad_norm_ semantics: scale all gradients
// by max_norm / (norm + 1e-6) when the L2 norm exceeds max_norm). Returns the norm before.

/** L2 norm of all gradients, accumulated in float64. */
export function gradNorm(grads: Float32Array): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const n = grads.length, n4 = n - (n % 4);
  for (let i = 0; i < n4; i += 4) {
    s0 += grads[i] * grads[i]; s1 += grads[i + 1] * grads[i + 1];
    s2 += grads[i + 2] * grads[i + 2]; s3 += grads[i + 3] * grads[i + 3];
  }
  for (let i = n4; i < n; i++) s0 += grads[i] * grads[i];
  return Math.sqrt(s0 + s1 + s2 + s3);
}

/** Clips in place when maxNorm > 0; returns the norm before clipping. */
export function clipGradNormInPlace(grads: Float32Array, maxNorm: number): number {
  const norm = gradNorm(grads);
  if (maxNorm > 0 && norm > maxNorm) {
    const scale = maxNorm / (norm + 1e-6);
    for (let i = 0; i < grads.length; i++) grads[i] *= scale;
  }
  return norm;
}
