// Turns teacher logits into the distribution the KD loss matches: temperature, clipping, label
// smoothing, then top-p and top-k truncation into the sparse form (ids, log-probs, tail mass),
// or the dense log-probs when nothing is truncated. It computes no loss and stores nothing.
//
// Order per row (fixed): x = clamp(z / T, −c, c); p = softmax(x); p' = (1−ε)·p + ε/V;
// rank ids by p' descending, ties lower id first; top-p keeps the shortest prefix whose
// cumulative p' reaches topP; top-k then keeps at most k of that prefix.

import { DistillError, needLen, needRange, needSizes } from './errors.js';

export interface TeacherProcessing {
  /** Divides the logits first. Default 1 (the teacher's own distribution). */
  temperature?: number;
  /** Clamp the tempered logits to [−clip, clip]; null/undefined = no clipping (the default). */
  clip?: number | null;
  /** ε: mix with the uniform distribution over V. Default 0 (no smoothing). */
  labelSmoothing?: number;
  /** Nucleus threshold in (0, 1]; 1 (default) keeps everything up to top-k. */
  topP?: number;
  /** Sparse only: true (default) keeps the kept ids' untruncated log-probs and the dropped mass
   *  as `tail` (what tail modes 'bucket'/'uniform' need); false renormalizes the kept ids to sum
   *  1 and writes tail 0. */
  tailBucket?: boolean;
}

interface Resolved { invT: number; clip: number; eps: number; topP: number; tailBucket: boolean }

function resolve(op: string, o: TeacherProcessing): Resolved {
  const T = o.temperature ?? 1;
  if (!(T > 0) || !Number.isFinite(T)) throw new DistillError(`${op}: option 'temperature' must be a positive finite number, got ${T}`);
  const clip = o.clip ?? Infinity;
  if (!(clip > 0)) throw new DistillError(`${op}: option 'clip' must be > 0 (or null for none), got ${clip}`);
  const eps = o.labelSmoothing ?? 0;
  needRange(op, 'labelSmoothing', eps, 0, 1);
  const topP = o.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) throw new DistillError(`${op}: option 'topP' must be in (0, 1], got ${topP}`);
  return { invT: 1 / T, clip, eps, topP, tailBucket: o.tailBucket ?? true };
}

/** Writes one row's processed log-probs log p'_j into lp (length V, float64). */
function processRow(lp: Float64Array, x: Float64Array, logits: Float32Array, base: number, V: number, r: Resolved): void {
  for (let j = 0; j < V; j++) { const v = logits[base + j] * r.invT; x[j] = v > r.clip ? r.clip : v < -r.clip ? -r.clip : v; }
  let m = -Infinity;
  for (let j = 0; j < V; j++) if (x[j] > m) m = x[j];
  let s = 0;
  for (let j = 0; j < V; j++) s += Math.exp(x[j] - m);
  const lse = m + Math.log(s);
  const l1e = Math.log(1 - r.eps), u = r.eps / V;
  for (let j = 0; j < V; j++) {
    lp[j] = r.eps === 0 ? x[j] - lse : r.eps === 1 ? Math.log(u) : Math.log(Math.exp(l1e + x[j] - lse) + u);
  }
}

/**
 * logits (N,V) f32 -> outLogProbs (N,V) f32 = log p' (temperature, clip, smoothing; no
 * truncation). Throws when topP < 1: truncation needs the sparse form.
 */
export function processTeacherLogitsDense(outLogProbs: Float32Array, logits: Float32Array, N: number, V: number, options: TeacherProcessing = {}): void {
  const op = 'processTeacherLogitsDense';
  needSizes(op, { N, V });
  needLen(op, 'logits', logits, N * V);
  needLen(op, 'outLogProbs', outLogProbs, N * V);
  const r = resolve(op, options);
  if (r.topP < 1) throw new DistillError(`${op}: topP = ${r.topP} truncates; use processTeacherLogitsSparse for truncated teachers`);
  const lp = new Float64Array(V), x = new Float64Array(V);
  for (let i = 0; i < N; i++) {
    processRow(lp, x, logits, i * V, V, r);
    for (let j = 0; j < V; j++) outLogProbs[i * V + j] = lp[j];
  }
}

/**
 * logits (N,V) f32 -> outIds (N,k) i32, outLogProbs (N,k) f32, outTail (N) f32: per row the
 * kept ids in rank order (p' descending, ties lower id first), their log-probs and the dropped
 * mass (see tailBucket). Rows keeping fewer than k ids (top-p) pad with id −1, log-prob −Infinity.
 */
export function processTeacherLogitsSparse(
  outIds: Int32Array, outLogProbs: Float32Array, outTail: Float32Array, logits: Float32Array,
  N: number, V: number, k: number, options: TeacherProcessing = {},
): void {
  const op = 'processTeacherLogitsSparse';
  needSizes(op, { N, V, k });
  if (k < 1 || k > V) throw new DistillError(`${op}: k = ${k} must be in [1, V=${V}]`);
  needLen(op, 'logits', logits, N * V);
  needLen(op, 'outIds', outIds, N * k);
  needLen(op, 'outLogProbs', outLogProbs, N * k);
  needLen(op, 'outTail', outTail, N);
  const r = resolve(op, options);
  const lp = new Float64Array(V), x = new Float64Array(V);
  const topV = new Float64Array(k), topI = new Int32Array(k), kept = new Uint8Array(V);
  for (let i = 0; i < N; i++) {
    processRow(lp, x, logits, i * V, V, r);
    // top-k by insertion into a sorted list: j rises, so an equal value ranks after (lower id first)
    let c = 0;
    for (let j = 0; j < V; j++) {
      const v = lp[j];
      if (c === k && !(v > topV[k - 1])) continue;
      let pos = c < k ? c : k - 1;
      while (pos > 0 && topV[pos - 1] < v) { topV[pos] = topV[pos - 1]; topI[pos] = topI[pos - 1]; pos--; }
      topV[pos] = v; topI[pos] = j;
      if (c < k) c++;
    }
    // top-p over the ranked prefix: the shortest prefix whose cumulative p' reaches topP
    let m = c;
    if (r.topP < 1) {
      let cum = 0;
      for (let e = 0; e < c; e++) { cum += Math.exp(topV[e]); if (cum >= r.topP) { m = e + 1; break; } }
    }
    let keptSum = 0;
    for (let e = 0; e < m; e++) { kept[topI[e]] = 1; keptSum += Math.exp(topV[e]); }
    let tail = 0;
    for (let j = 0; j < V; j++) if (!kept[j]) tail += Math.exp(lp[j]);
    const shift = r.tailBucket ? 0 : Math.log(keptSum);
    for (let e = 0; e < k; e++) {
      outIds[i * k + e] = e < m ? topI[e] : -1;
      outLogProbs[i * k + e] = e < m ? topV[e] - shift : -Infinity;
    }
    outTail[i] = r.tailBucket ? tail : 0;
    for (let e = 0; e < m; e++) kept[topI[e]] = 0;
  }
}
