// Log-probabilities of one logits row as servers report them: the row's log-softmax at T = 1 (the
// raw model distribution, vLLM's default "raw_logprobs"), its top k ids (ties: lower id first, as
// src/distill's truncation ranks them) and the rank of any id. Pure arithmetic on one row; it
// does not run the model or format responses.

export interface RowLogprobs {
  /** log p of every id (V), f64. */
  lp: Float64Array;
  /** The k most likely ids, most likely first. */
  top: number[];
}

/** Log-softmax of `row` (V) in f64 and its top k ids. */
export function rowLogprobs(row: Float32Array, k: number): RowLogprobs {
  const V = row.length;
  let mx = -Infinity;
  for (let j = 0; j < V; j++) if (row[j] > mx) mx = row[j];
  let z = 0;
  for (let j = 0; j < V; j++) z += Math.exp(row[j] - mx);
  const lse = mx + Math.log(z);
  const lp = new Float64Array(V);
  for (let j = 0; j < V; j++) lp[j] = row[j] - lse;
  const kk = Math.min(k, V);
  const top: number[] = [];
  // insertion into a sorted list: j rises, so an equal value ranks after (lower id first)
  for (let j = 0; j < V && kk > 0; j++) {
    const v = lp[j];
    if (top.length === kk && !(v > lp[top[kk - 1]])) continue;
    let pos = top.length < kk ? top.length : kk - 1;
    if (top.length < kk) top.push(j);
    while (pos > 0 && lp[top[pos - 1]] < v) { top[pos] = top[pos - 1]; pos--; }
    top[pos] = j;
  }
  return { lp, top };
}

/** 1-based rank of `id` in the row (1 = most likely; ties ranked by lower id first). */
export function rankOf(lp: Float64Array, id: number): number {
  const v = lp[id];
  let r = 1;
  for (let j = 0; j < lp.length; j++) if (lp[j] > v || (lp[j] === v && j < id)) r++;
  return r;
}
