// The sweep's scaling-law fit: the finished cells split into CE (baseline) and KD students, each
// fitted to L(N, D) (scaling-fit.ts) with bootstrap intervals, and KD's predicted gain over CE at
// sizes and budgets not run. Turns rows into fits and text; it runs and plots nothing.
import { bootstrapLaws, fitScalingLaw, interval95, predictLoss, type Interval, type ScalingLaw, type ScalingPoint } from './scaling-fit.js';
import { SweepError } from './errors.js';
import type { SweepRow } from './summary.js';

export interface FittedLaw {
  law: ScalingLaw;
  /** 95 % bootstrap intervals of each parameter. */
  intervals: Record<keyof ScalingLaw, Interval>;
  points: ScalingPoint[];
  /** Bootstrap resamples that were fitted. */
  resamples: number;
  /** Root mean square of log L̂ − log L over the points. */
  rmsLogResidual: number;
}

export interface GainPrediction {
  n: number;
  d: number;
  ce: number;
  kd: number;
  /** CE − KD: positive when KD is predicted to win. */
  gain: number;
  gainInterval: Interval;
  /** Inside the sweep's range of N and D (interpolation) or outside it. */
  extrapolated: boolean;
}

export interface SweepFit { ce: FittedLaw; kd: FittedLaw; predictions: GainPrediction[] }

function pointsOf(rows: SweepRow[], kind: 'kd' | 'baseline'): ScalingPoint[] {
  return rows.filter((r) => r.kind === kind && r.params !== undefined && r.tokens !== undefined && r.valLoss !== undefined && Number.isFinite(r.valLoss))
    .map((r) => ({ n: r.params!, d: r.tokens!, loss: r.valLoss! }));
}

function fitOne(points: ScalingPoint[], bootstrap: number, seed: number, what: string): { fitted: FittedLaw; laws: ScalingLaw[] } {
  let law: ScalingLaw;
  try {
    law = fitScalingLaw(points).law;
  } catch (e) {
    throw new SweepError(`--fit (${what} students): ${(e as Error).message}`);
  }
  const laws = bootstrapLaws(points, law, bootstrap, seed);
  const keys: (keyof ScalingLaw)[] = ['E', 'A', 'alpha', 'B', 'beta'];
  const intervals = Object.fromEntries(keys.map((k) => [k, interval95(laws, (l) => l[k])])) as Record<keyof ScalingLaw, Interval>;
  const rms = Math.sqrt(points.reduce((s, p) => s + (Math.log(predictLoss(law, p.n, p.d)) - Math.log(p.loss)) ** 2, 0) / points.length);
  return { fitted: { law, intervals, points, resamples: laws.length, rmsLogResidual: rms }, laws };
}

/** "250000x2e6,5e5x1e7" -> [[250000, 2e6], [5e5, 1e7]]. */
export function parsePredictList(s: string): [number, number][] {
  return s.split(',').map((item) => {
    const m = /^\s*([0-9.eE+]+)\s*x\s*([0-9.eE+]+)\s*$/.exec(item);
    const n = m ? Number(m[1]) : NaN, d = m ? Number(m[2]) : NaN;
    if (!(n > 0 && d > 0)) throw new SweepError(`--predict: '${item}' is not SIZExTOKENS (e.g. 250000x2e6)`);
    return [n, d];
  });
}

/** Fits CE and KD students; predicts the gain at the largest size and budget run, and at 2× and 4×
 *  beyond each (plus `predictAt`). Bootstrap resamples are paired: resample b of CE against b of KD. */
export function fitSweep(rows: SweepRow[], o: { bootstrap: number; predictAt?: string; seed?: number }): SweepFit {
  const ce = fitOne(pointsOf(rows, 'baseline'), o.bootstrap, o.seed ?? 0, 'CE');
  const kd = fitOne(pointsOf(rows, 'kd'), o.bootstrap, (o.seed ?? 0) + 1, 'KD');
  const all = [...ce.fitted.points, ...kd.fitted.points];
  const nMax = Math.max(...all.map((p) => p.n)), dMax = Math.max(...all.map((p) => p.d));
  const nMin = Math.min(...all.map((p) => p.n)), dMin = Math.min(...all.map((p) => p.d));
  const at: [number, number][] = [];
  for (const fn of [1, 2, 4]) for (const fd of [1, 4, 16]) at.push([nMax * fn, dMax * fd]);
  if (o.predictAt) at.push(...parsePredictList(o.predictAt));
  const m = Math.min(ce.laws.length, kd.laws.length);
  const predictions = at.map(([n, d]) => {
    const pce = predictLoss(ce.fitted.law, n, d), pkd = predictLoss(kd.fitted.law, n, d);
    const gains = Array.from({ length: m }, (_, i) => predictLoss(ce.laws[i], n, d) - predictLoss(kd.laws[i], n, d)).sort((a, b) => a - b);
    const q = (p: number): number => gains.length ? gains[Math.min(gains.length - 1, Math.max(0, Math.round(p * (gains.length - 1))))] : NaN;
    return { n, d, ce: pce, kd: pkd, gain: pce - pkd, gainInterval: { lo: q(0.025), hi: q(0.975) }, extrapolated: n > nMax || d > dMax || n < nMin || d < dMin };
  });
  return { ce: ce.fitted, kd: kd.fitted, predictions };
}

const g = (v: number): string => (Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : '—');

function lawLines(name: string, f: FittedLaw): string[] {
  const iv = (k: keyof ScalingLaw): string => `${g(f.law[k])} [${g(f.intervals[k].lo)}, ${g(f.intervals[k].hi)}]`;
  return [
    `${name}: L(N, D) = E + A/N^α + B/D^β over ${f.points.length} runs (rms log residual ${f.rmsLogResidual.toFixed(4)}; 95% bootstrap intervals from ${f.resamples} resamples)`,
    `  E = ${iv('E')}   A = ${iv('A')}   α = ${iv('alpha')}   B = ${iv('B')}   β = ${iv('beta')}`,
  ];
}

/** The fit as text: both laws with intervals, then a table of predicted losses and gains. */
export function formatFit(fit: SweepFit): string {
  const lines = [...lawLines('CE students', fit.ce), ...lawLines('KD students', fit.kd), '', 'predicted val loss (nats/token) and KD gain = CE − KD, 95% bootstrap interval:',
    '| params N | tokens D | CE | KD | KD gain | interval | |', '| ---: | ---: | ---: | ---: | ---: | --- | --- |'];
  for (const p of fit.predictions) {
    lines.push(`| ${g(p.n)} | ${g(p.d)} | ${p.ce.toFixed(3)} | ${p.kd.toFixed(3)} | ${p.gain >= 0 ? '+' : ''}${p.gain.toFixed(3)} | [${p.gainInterval.lo.toFixed(3)}, ${p.gainInterval.hi.toFixed(3)}] | ${p.extrapolated ? 'extrapolated' : 'in range'} |`);
  }
  return lines.join('\n');
}
