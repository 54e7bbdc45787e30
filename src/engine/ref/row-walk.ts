// Row helpers shared by the loss kernels: the chunked online log-sum-exp over a row of logits
// (one pass, running max rescaled per chunk), logaddexp, and the row mask from targets.
// They hold no state and allocate nothing; the per-element divergence math lives elsewhere.

/**
 * log Σ_j exp(x[off+j] * scale) over j in [0,V), walking V in chunks of `chunk`: each chunk's
 * max and sum are merged into the running (max, sum) — the online softmax normaliser. Returns
 * -Infinity for V = 0. Accumulates in float64.
 */
export function rowLogSumExp(x: Float32Array, off: number, V: number, scale: number, chunk: number): number {
  let m = -Infinity, s = 0;
  for (let c0 = 0; c0 < V; c0 += chunk) {
    const c1 = Math.min(V, c0 + chunk);
    let cm = -Infinity;
    for (let j = c0; j < c1; j++) { const v = x[off + j] * scale; if (v > cm) cm = v; }
    if (cm === -Infinity) continue;
    let cs = 0;
    for (let j = c0; j < c1; j++) cs += Math.exp(x[off + j] * scale - cm);
    if (cm > m) { s = s * Math.exp(m - cm) + cs; m = cm; } else s += cs * Math.exp(cm - m);
  }
  return m === -Infinity ? -Infinity : m + Math.log(s);
}

/** log(exp(a) + exp(b)), exact at -Infinity. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** Number of rows whose target is not ignoreIndex (all N when targets is null). */
export function countUnmasked(targets: Int32Array | null, N: number, ignoreIndex: number): number {
  if (!targets) return N;
  let n = 0;
  for (let i = 0; i < N; i++) if (targets[i] !== ignoreIndex) n++;
  return n;
}
