// Reference next-token sampling over rows of logits (the sampleRows op): greedy (temperature ≤ 0,
// argmax, ties to the lower index), or a float64 softmax at the temperature over the candidates in
// descending logit order (ties: lower index) — the top k, then the shortest prefix whose mass
// reaches topP — picked by one uniform draw per row. Native (native/sample.cpp) does the same.
import { needLen, needSizes } from './check.js';

export function sampleRows(out: Int32Array, logits: Float32Array, N: number, V: number, temperature: number, topK: number, topP: number, uniforms: Float64Array): void {
  const op = 'sampleRows';
  needSizes(op, { N, V, topK });
  if (V < 1) throw new RangeError(`${op}: V must be at least 1`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`${op}: topP must be in (0, 1], got ${topP}`);
  needLen(op, 'out', out, N); needLen(op, 'logits', logits, N * V); needLen(op, 'uniforms', uniforms, N);
  const idx = new Int32Array(V);
  const probs = new Float64Array(V);
  for (let r = 0; r < N; r++) {
    const o = r * V;
    if (temperature <= 0) {
      let best = 0;
      for (let i = 1; i < V; i++) if (logits[o + i] > logits[o + best]) best = i;
      out[r] = best;
      continue;
    }
    for (let i = 0; i < V; i++) idx[i] = i;
    let n = V;
    if ((topK > 0 && topK < V) || topP < 1) idx.sort((a, b) => (logits[o + b] - logits[o + a]) || (a - b));
    if (topK > 0 && topK < V) n = topK;
    let max = -Infinity;
    for (let i = 0; i < n; i++) if (logits[o + idx[i]] > max) max = logits[o + idx[i]];
    let sum = 0;
    for (let i = 0; i < n; i++) { probs[i] = Math.exp((logits[o + idx[i]] - max) / temperature); sum += probs[i]; }
    if (topP < 1) {
      let cum = 0, keep = 0;
      while (keep < n) { cum += probs[keep] / sum; keep++; if (cum >= topP) break; }
      n = keep;
      sum = 0;
      for (let i = 0; i < n; i++) sum += probs[i];
    }
    const u = uniforms[r] * sum;
    let acc = 0, pick = idx[n - 1];
    for (let i = 0; i < n; i++) {
      acc += probs[i];
      if (u < acc) { pick = idx[i]; break; }
    }
    out[r] = pick;
  }
}
