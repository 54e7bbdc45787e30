// The Chinchilla-form scaling law L(N, D) = E + A/N^α + B/D^β fitted as Hoffmann et al. (2022,
// appendix D.2) do: Huber loss (δ = 1e-3) on log L, the log of the sum computed as a log-sum-exp,
// minimised from the best points of a grid of starts (Nelder–Mead here), plus bootstrap intervals.
// Pure arithmetic on (N, D, L) triples: it knows nothing of runs, sweeps or files.
import { Rng } from '../engine/rng.js';
import { SweepError } from './errors.js';

export interface ScalingPoint { n: number; d: number; loss: number }
export interface ScalingLaw { E: number; A: number; B: number; alpha: number; beta: number }

/** θ = [log A, log B, log E, α, β]: the parametrisation the optimiser works in. */
type Theta = [number, number, number, number, number];

export const HUBER_DELTA = 1e-3; // Hoffmann et al.'s δ: close to least absolute deviations, robust to outliers

export function predictLoss(law: ScalingLaw, n: number, d: number): number {
  return law.E + law.A / n ** law.alpha + law.B / d ** law.beta;
}

function logPred(t: Theta, lnN: number, lnD: number): number {
  const a = t[0] - t[3] * lnN, b = t[1] - t[4] * lnD, e = t[2];
  const m = Math.max(a, b, e);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m) + Math.exp(e - m));
}

function huber(r: number, delta: number): number {
  const a = Math.abs(r);
  return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
}

/** The fit's objective: Σ Huber(log L̂ − log L) over the points. */
export function objective(t: Theta, pts: { lnN: number; lnD: number; lnL: number }[], delta = HUBER_DELTA): number {
  let s = 0;
  for (const p of pts) s += huber(logPred(t, p.lnN, p.lnD) - p.lnL, delta);
  return s;
}

/** Nelder–Mead on f from x0 with initial simplex steps `step`; returns the best vertex. */
function nelderMead(f: (x: number[]) => number, x0: number[], step: number[], iters: number): { x: number[]; fx: number } {
  const n = x0.length;
  let simplex = [x0, ...x0.map((_, i) => x0.map((v, j) => (i === j ? v + step[i] : v)))].map((x) => ({ x, fx: f(x) }));
  const comb = (a: number[], b: number[], t: number): number[] => a.map((v, i) => v + t * (b[i] - v));
  for (let it = 0; it < iters; it++) {
    simplex.sort((p, q) => p.fx - q.fx);
    const best = simplex[0], worst = simplex[n];
    if (Math.abs(worst.fx - best.fx) <= 1e-14 * (1 + Math.abs(best.fx)) && it > 10 * n) break;
    const centroid = x0.map((_, j) => simplex.slice(0, n).reduce((s, p) => s + p.x[j], 0) / n);
    const xr = comb(centroid, worst.x, -1), fr = f(xr);
    if (fr < best.fx) {
      const xe = comb(centroid, worst.x, -2), fe = f(xe);
      simplex[n] = fe < fr ? { x: xe, fx: fe } : { x: xr, fx: fr };
    } else if (fr < simplex[n - 1].fx) {
      simplex[n] = { x: xr, fx: fr };
    } else {
      const xc = fr < worst.fx ? comb(centroid, xr, 0.5) : comb(centroid, worst.x, 0.5), fc = f(xc);
      if (fc < Math.min(fr, worst.fx)) simplex[n] = { x: xc, fx: fc };
      else simplex = simplex.map((p, i) => (i === 0 ? p : { x: comb(best.x, p.x, 0.5), fx: f(comb(best.x, p.x, 0.5)) }));
    }
  }
  simplex.sort((p, q) => p.fx - q.fx);
  return simplex[0];
}

const GRID = {
  logA: [0, 5, 10, 15, 20, 25], logB: [0, 5, 10, 15, 20, 25], logE: [-1, -0.5, 0, 0.5, 1], alpha: [0, 0.5, 1, 1.5, 2], beta: [0, 0.5, 1, 1.5, 2],
}; // Hoffmann et al.'s grid of initialisations

/** The box the fit stays in: exponents in [0, 3] (a larger one means a term that vanishes over the
 *  sweep, which the data cannot tell from 3), log A and log B in [-10, 40], log E in [-5, 3]
 *  (E from 0.007 to 20 nats). Without it a sweep that barely moves with N sends α and A to
 *  overflow; with it the interval shows the term is unidentified instead. */
const BOUNDS: [number, number][] = [[-10, 40], [-10, 40], [-5, 3], [0, 3], [0, 3]];
const inBounds = (x: number[]): boolean => x.every((v, i) => v >= BOUNDS[i][0] && v <= BOUNDS[i][1]);

function toLaw(t: number[]): ScalingLaw {
  return { A: Math.exp(t[0]), B: Math.exp(t[1]), E: Math.exp(t[2]), alpha: t[3], beta: t[4] };
}

export interface FitOptions { delta?: number; starts?: number; iters?: number; from?: ScalingLaw }

/** Fits the law to the points (at least 5 with 2+ distinct N and D); from `o.from` alone when given
 *  (bootstrap refits), else from the `starts` best points of the grid. */
export function fitScalingLaw(points: ScalingPoint[], o: FitOptions = {}): { law: ScalingLaw; objective: number } {
  const bad = points.find((p) => !(p.n > 0 && p.d > 0 && p.loss > 0));
  if (bad) throw new SweepError(`scaling fit: every point needs N > 0, D > 0 and a loss > 0, got N=${bad.n} D=${bad.d} L=${bad.loss}`);
  if (points.length < 5 || new Set(points.map((p) => p.n)).size < 2 || new Set(points.map((p) => p.d)).size < 2) {
    throw new SweepError(`scaling fit: needs at least 5 runs over 2+ student sizes and 2+ token budgets, got ${points.length} run(s), ${new Set(points.map((p) => p.n)).size} size(s), ${new Set(points.map((p) => p.d)).size} budget(s)`);
  }
  const pts = points.map((p) => ({ lnN: Math.log(p.n), lnD: Math.log(p.d), lnL: Math.log(p.loss) }));
  const delta = o.delta ?? HUBER_DELTA;
  const f = (x: number[]): number => (inBounds(x) ? objective(x as Theta, pts, delta) : Infinity);
  let starts: number[][];
  if (o.from) {
    starts = [[Math.log(o.from.A), Math.log(o.from.B), Math.log(o.from.E), o.from.alpha, o.from.beta]];
  } else {
    const grid: { x: number[]; fx: number }[] = [];
    for (const a of GRID.logA) for (const b of GRID.logB) for (const e of GRID.logE) for (const al of GRID.alpha) for (const be of GRID.beta) {
      const x = [a, b, e, al, be];
      grid.push({ x, fx: f(x) });
    }
    grid.sort((p, q) => p.fx - q.fx);
    starts = grid.slice(0, o.starts ?? 16).map((g) => g.x);
  }
  let best = { x: starts[0], fx: Infinity };
  for (const s of starts) {
    let r = nelderMead(f, s, [1, 1, 0.2, 0.1, 0.1], o.iters ?? 4000);
    r = nelderMead(f, r.x, [0.1, 0.1, 0.02, 0.01, 0.01], o.iters ?? 4000); // a restart escapes a collapsed simplex
    if (r.fx < best.fx) best = r;
  }
  return { law: toLaw(best.x), objective: best.fx };
}

export interface Interval { lo: number; hi: number }

/** The q-quantile (0..1) of sorted values, linear between order statistics. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = q * (sorted.length - 1), lo = Math.floor(i), hi = Math.ceil(i);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo);
}

/** Refits the law on `resamples` bootstrap resamples of the points (with replacement, seeded),
 *  each started from the full fit; returns the fitted laws (resamples that cannot be fitted —
 *  one size or budget only — are skipped). */
export function bootstrapLaws(points: ScalingPoint[], full: ScalingLaw, resamples: number, seed = 0): ScalingLaw[] {
  const rng = new Rng(seed);
  const laws: ScalingLaw[] = [];
  for (let b = 0; b < resamples; b++) {
    const sample = points.map(() => points[rng.nextInt(points.length)]);
    if (new Set(sample.map((p) => p.n)).size < 2 || new Set(sample.map((p) => p.d)).size < 2) continue;
    laws.push(fitScalingLaw(sample, { from: full, iters: 2000 }).law);
  }
  return laws;
}

/** The central 95 % interval of f over the bootstrap laws. */
export function interval95(laws: ScalingLaw[], f: (l: ScalingLaw) => number): Interval {
  const v = laws.map(f).filter(Number.isFinite).sort((a, b) => a - b);
  return { lo: quantile(v, 0.025), hi: quantile(v, 0.975) };
}
