// Arithmetic on sparse teacher rows (ids (N,k) with -1 for empty slots, log-probs (N,k), tail (N)
// = the mass outside the ids), shared by the sources that hold rows rather than a model (the
// offline store, servers): re-tempering and spreading into dense logits. It fetches no rows.

/** Logit given to ids a sparse row does not hold and whose tail is 0: exp() of it is 0 in f64. */
const ABSENT_LOGIT = -1e4;

/**
 * Re-tempers N rows by ratio r = T_from / T_to after truncation (kept log-probs × r, the tail
 * spread evenly over the V − m ids not kept, then re-tempered too), renormalized.
 */
export function retemperRowsInPlace(ids: Int32Array, logProbs: Float32Array, tail: Float32Array, N: number, k: number, V: number, r: number): void {
  for (let i = 0; i < N; i++) {
    let m = 0, mx = -Infinity;
    while (m < k && ids[i * k + m] >= 0) { mx = Math.max(mx, r * logProbs[i * k + m]); m++; }
    const others = V - m, t = tail[i];
    const lu = others > 0 && t > 0 ? r * Math.log(t / others) : -Infinity; // one tail id, re-tempered
    mx = Math.max(mx, lu);
    let z = 0;
    for (let e = 0; e < m; e++) z += Math.exp(r * logProbs[i * k + e] - mx);
    const zt = lu === -Infinity ? 0 : others * Math.exp(lu - mx);
    const lz = mx + Math.log(z + zt);
    for (let e = 0; e < m; e++) logProbs[i * k + e] = r * logProbs[i * k + e] - lz;
    tail[i] = zt / (z + zt);
  }
}

/** N rows as dense (N,V) logits of the sparse distribution into `out`: ids outside a row share its tail evenly. */
export function densifyRows(out: Float32Array, ids: Int32Array, logProbs: Float32Array, tail: Float32Array, N: number, k: number, V: number): void {
  for (let i = 0; i < N; i++) {
    let m = 0;
    while (m < k && ids[i * k + m] >= 0) m++;
    const t = tail[i], lu = V > m && t > 0 ? Math.log(t / (V - m)) : ABSENT_LOGIT;
    out.fill(lu, i * V, (i + 1) * V);
    for (let e = 0; e < m; e++) out[i * V + ids[i * k + e]] = logProbs[i * k + e];
  }
}
