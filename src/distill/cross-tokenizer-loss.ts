// The KD term across tokenizers: teacher log-probs over ITS vocabulary at teacher positions,
// paired with student positions by byte alignment (src/data/token-alignment.ts), become per
// student row either a sparse row over student ids (exact-map; span adds GOLD's merged span
// probability for the target) taken by the engine's sparse KD op, or a sorted probability vector
// for ULD (Boizard et al. 2024; computed here in TypeScript over the student logits). It does no
// alignment itself and knows no tokenizer: every input is a flat array.
import type { Backend } from '../engine/backend.js';
import type { Divergence, TailMode } from '../engine/loss-kinds.js';
import { DistillError, needLen } from './errors.js';
import { ascendingOrder, createRadixScratch, type RadixScratch } from './radix-order.js';

export type CrossTokenizerMethod = 'uld' | 'span' | 'exact-map';

/** Where each student row (N) finds its teacher: row indices into the teacher rows (M), -1 none. */
export interface CrossAlignment {
  /** The teacher row whose context ends where the student row's does. */
  aligned: Int32Array;
  /** The last teacher row whose context is a prefix of the student row's (ULD's pairing). */
  prefix: Int32Array;
  /** With aligned j: the row j2 > j such that the ids teacher rows j..j2-1 predict spell the
   *  student row's target exactly; -1 when they do not. */
  spanEnd: Int32Array;
  /** (M) the teacher id each teacher row is followed by (-1 where none). */
  teacherNext: Int32Array;
}

/** The teacher side of the cross-tokenizer KD, per student row (sizes fixed at creation). */
export interface CrossRows {
  N: number; V: number; k: number; K: number;
  /** Sparse rows over student ids (N,k): ids (-1 = empty), log-probs, tail; used where kl[i] = 1. */
  ids: Int32Array; logProbs: Float32Array; tail: Float32Array; kl: Uint8Array;
  /** (N,K) teacher probabilities sorted in descending order; used where uld[i] = 1. */
  sorted: Float32Array; uld: Uint8Array;
  /** Scratch of the teacher-row sort (K). */
  probs: Float32Array; radix: RadixScratch;
}

/** Rows for N student rows of a V-id student and a K-id teacher; k = the mapped ids + 1 (a
 *  merged span's target). */
export function createCrossRows(N: number, V: number, K: number, mappedIds: number): CrossRows {
  const k = Math.min(V, mappedIds + 1);
  return {
    N, V, k, K, ids: new Int32Array(N * k), logProbs: new Float32Array(N * k), tail: new Float32Array(N), kl: new Uint8Array(N),
    sorted: new Float32Array(N * K), uld: new Uint8Array(N), probs: new Float32Array(K), radix: createRadixScratch(K),
  };
}

/**
 * Fills `rows` from teacher log-probs tlp (M,K) (at the KD temperature; -Infinity for ids a
 * sparse teacher did not give), the alignment, map (V: student id -> teacher id with the same
 * bytes, or -1) and the student targets (N). Per row whose target is not ignoreIndex:
 *   exact-map: aligned rows get q(v) = tlp[j, map[v]] over the mapped ids; others nothing.
 *   span: as exact-map, and where spanEnd = j2 the target gets the merged probability
 *     Σ_{r=j}^{j2-1} tlp[r, teacherNext[r]] (GOLD); unaligned rows fall back to ULD.
 *   uld: every row with a prefix row: the sorted teacher probabilities there.
 * A sparse row's tail is 1 − Σ q; where Σ q > 1 (a merged span overlapping a mapped piece)
 * the row is renormalised to sum 1 with tail 0.
 */
export function fillCrossRows(rows: CrossRows, tlp: Float32Array, M: number, align: CrossAlignment, map: Int32Array,
  targets: Int32Array, method: CrossTokenizerMethod, ignoreIndex: number): void {
  const { N, V, k, K } = rows;
  const op = 'fillCrossRows';
  needLen(op, 'tlp', tlp, M * K);
  needLen(op, 'map', map, V);
  for (const [name, a] of [['aligned', align.aligned], ['prefix', align.prefix], ['spanEnd', align.spanEnd], ['targets', targets]] as const) needLen(op, name, a, N);
  rows.ids.fill(-1); rows.logProbs.fill(0); rows.tail.fill(1); rows.kl.fill(0); rows.uld.fill(0);
  const row = (j: number) => { if (j >= M) throw new DistillError(`${op}: teacher row ${j} outside [0, ${M})`); return j * K; };
  let lastP = -1, lastI = -1; // consecutive student rows often share a prefix row: sorted once
  const radix = rows.radix, probs = rows.probs;
  for (let i = 0; i < N; i++) {
    const y = targets[i];
    if (y === ignoreIndex) continue;
    const j = align.aligned[i];
    if (method !== 'uld' && j >= 0) {
      const tb = row(j), kb = i * k;
      let e = 0, mass = 0;
      let merged = -Infinity;
      if (method === 'span' && align.spanEnd[i] > j) {
        merged = 0;
        for (let r = j; r < align.spanEnd[i]; r++) merged += tlp[row(r) + align.teacherNext[r]];
      }
      for (let v = 0; v < V && e < k; v++) {
        const lp = v === y && merged > -Infinity ? merged : map[v] >= 0 ? tlp[tb + map[v]] : -Infinity;
        if (lp === -Infinity) continue;
        rows.ids[kb + e] = v; rows.logProbs[kb + e] = lp; mass += Math.exp(lp); e++;
      }
      if (mass > 1) {
        const l = Math.log(mass);
        for (let s = 0; s < e; s++) rows.logProbs[kb + s] -= l;
        rows.tail[i] = 0;
      } else {
        rows.tail[i] = 1 - mass;
      }
      rows.kl[i] = 1;
      continue;
    }
    const p = method === 'exact-map' ? -1 : align.prefix[i];
    if (p < 0) continue;
    const tb = row(p), out = rows.sorted.subarray(i * K, (i + 1) * K);
    if (p === lastP) out.set(rows.sorted.subarray(lastI * K, (lastI + 1) * K));
    else {
      for (let v = 0; v < K; v++) probs[v] = Math.exp(tlp[tb + v]);
      const order = ascendingOrder(probs, K, radix);
      for (let r = 0; r < K; r++) out[r] = probs[order[K - 1 - r]];
    }
    lastP = p; lastI = i;
    rows.uld[i] = 1;
  }
}

export interface CrossKdOptions {
  divergence: Divergence; temperature: number; scaleT2: boolean; ignoreIndex: number; tailMode: TailMode;
  /** Weight of the ULD term against the per-row KD of sparse rows. */
  uldWeight: number;
  /** Multiplies the gradient (not the loss). */
  gradScale: number;
}

/** Scratch: the sparse op's targets and row losses (N each); one ULD row's probabilities, the
 *  sign of each id's rank difference and the sort's scratch (V each). */
export interface CrossKdScratch { targets: Int32Array; rowKl: Float32Array; p: Float64Array; sign: Float64Array; radix: RadixScratch }

export function createCrossKdScratch(N: number, V: number): CrossKdScratch {
  return { targets: new Int32Array(N), rowKl: new Float32Array(N), p: new Float64Array(V), sign: new Float64Array(V), radix: createRadixScratch(V) };
}

/**
 * student (N,V) logits, rows, targets (N) -> rowKd (N) (0 where a row has no teacher term or
 * is masked), dStudent (N,V) ACCUMULATED with gradScale · d(mean KD)/dz, or null; returns
 * mean KD = (Σ sparse-row divergences + Σ uldWeight·ULD) / (rows not masked), each × T² when
 * scaleT2. ULD of a row: Σ_r |sort↓(softmax(z/T))_r − sorted_r| over max(V, K) ranks (the
 * shorter vector padded with 0). Sparse rows: Backend.kdForwardBackward with tailMode.
 * All rows masked -> 0.
 */
export function crossTokenizerKdForwardBackward(be: Backend, dStudent: Float32Array | null, rowKd: Float32Array, student: Float32Array,
  rows: CrossRows, targets: Int32Array, N: number, V: number, o: CrossKdOptions, scratch: CrossKdScratch = createCrossKdScratch(N, V)): number {
  const { K } = rows;
  let count = 0, nKl = 0;
  for (let i = 0; i < N; i++) {
    const live = targets[i] !== o.ignoreIndex;
    if (live) count++;
    scratch.targets[i] = live && rows.kl[i] ? (nKl++, targets[i]) : o.ignoreIndex;
  }
  rowKd.fill(0, 0, N);
  if (count === 0) return 0;
  let total = 0;
  if (nKl > 0) {
    const r = be.kdForwardBackward({
      dStudent, rowLosses: scratch.rowKl, student, targets: scratch.targets, N, V, divergence: o.divergence,
      teacher: { kind: 'sparse', ids: rows.ids, logProbs: rows.logProbs, tail: rows.tail, k: rows.k, tailMode: o.tailMode },
      temperature: o.temperature, scaleT2: o.scaleT2, ignoreIndex: o.ignoreIndex, gradScale: (o.gradScale * nKl) / count, accumulate: true,
    });
    total += r.loss * nKl;
    for (let i = 0; i < N; i++) if (scratch.targets[i] !== o.ignoreIndex) rowKd[i] = scratch.rowKl[i];
  }
  const invT = 1 / o.temperature, w = o.uldWeight * (o.scaleT2 ? o.temperature * o.temperature : 1);
  const { p, sign, radix } = scratch;
  for (let i = 0; i < N; i++) {
    if (targets[i] === o.ignoreIndex || !rows.uld[i]) continue;
    const zb = i * V, sb = i * K;
    let mx = -Infinity, sum = 0;
    for (let v = 0; v < V; v++) mx = Math.max(mx, student[zb + v] * invT);
    for (let v = 0; v < V; v++) { p[v] = Math.exp(student[zb + v] * invT - mx); sum += p[v]; }
    for (let v = 0; v < V; v++) p[v] /= sum;
    const order = ascendingOrder(p, V, radix); // rank r (descending) is id order[V-1-r]
    let loss = 0;
    for (let r = 0; r < Math.max(V, K); r++) loss += Math.abs((r < V ? p[order[V - 1 - r]] : 0) - (r < K ? rows.sorted[sb + r] : 0));
    rowKd[i] = w * loss;
    total += w * loss;
    if (!dStudent) continue;
    // d|ps_r − pt_r|/dps_r = sign(ps_r − pt_r), given to the id at rank r
    let g = 0;
    for (let r = 0; r < V; r++) {
      const v = order[V - 1 - r];
      const d = p[v] - (r < K ? rows.sorted[sb + r] : 0);
      sign[v] = d > 0 ? 1 : d < 0 ? -1 : 0;
      g += p[v] * sign[v];
    }
    // softmax backward: dz_v = (1/T) p_v (s_v − Σ p s)
    const f = (o.gradScale * w * invT) / count;
    for (let v = 0; v < V; v++) dStudent[zb + v] += f * p[v] * (sign[v] - g);
  }
  return total / count;
}
