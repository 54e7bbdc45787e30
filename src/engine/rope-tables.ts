// Precomputes the rotary cos/sin tables that ropeForward/ropeBackward read.
// Deliberately not a backend op: tables are built once per model and shared by every layer.

/**
 * cos, sin (T, HS/2): angle(t, i) = (pos0 + t) * theta^(-2i/HS), computed in float32 the way
 * llama2.c and Hugging Face do (freq in f32, product in f32), so logits match bit-for-bit-ish.
 */
export function ropeTables(T: number, HS: number, theta = 10000, pos0 = 0): { cos: Float32Array; sin: Float32Array } {
  if (HS % 2 !== 0) throw new RangeError(`rope: head size ${HS} must be even`);
  const half = HS / 2;
  const cos = new Float32Array(T * half);
  const sin = new Float32Array(T * half);
  const f = Math.fround;
  for (let i = 0; i < half; i++) {
    const freq = f(1 / f(Math.pow(theta, f((2 * i) / HS))));
    for (let t = 0; t < T; t++) {
      const angle = f((pos0 + t) * freq);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
