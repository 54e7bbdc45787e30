// KD-vs-baseline comparison: pairs each KD run with the baseline run of the same seed and
// summarizes the paired differences of final validation loss (KD − baseline; negative = KD
// better): mean, sample SD, a 95% t interval and the win count. It tests nothing beyond that.

import { finalValLoss, type RunData } from './run-files.js';

/** Two-sided 95% Student-t critical values t_{0.975, df}; df 1..30 then 40, 60, 120.
 *  Checked by bisection on the numerically integrated t CDF (numpy, /usr/bin/python3, see the
 *  issue note); for df between tabulated values the smaller df is used (a wider interval). */
const T975: [number, number][] = [
  [1, 12.706], [2, 4.303], [3, 3.182], [4, 2.776], [5, 2.571], [6, 2.447], [7, 2.365], [8, 2.306],
  [9, 2.262], [10, 2.228], [11, 2.201], [12, 2.179], [13, 2.16], [14, 2.145], [15, 2.131],
  [16, 2.12], [17, 2.11], [18, 2.101], [19, 2.093], [20, 2.086], [21, 2.08], [22, 2.074],
  [23, 2.069], [24, 2.064], [25, 2.06], [26, 2.056], [27, 2.052], [28, 2.048], [29, 2.045],
  [30, 2.042], [40, 2.021], [60, 2.0], [120, 1.98],
];

export function tCritical975(df: number): number {
  let t = T975[0][1];
  for (const [d, v] of T975) if (d <= df) t = v;
  return t;
}

export interface PairRow {
  seed: number;
  kdRun: string;
  baselineRun: string;
  kdLoss: number;
  baselineLoss: number;
  /** kdLoss − baselineLoss */
  diff: number;
}

export interface Comparison {
  variant: string;
  pairs: PairRow[];
  n: number;
  meanDiff: number;
  /** Sample SD of the differences (n − 1); NaN for n < 2. */
  sdDiff: number;
  /** 95% t interval of the mean difference; undefined for n < 2. */
  ci95?: [number, number];
  /** Pairs where KD reached the lower loss. */
  kdWins: number;
  /** Runs that could not be paired, with the reason. */
  unpaired: string[];
}

/** One Comparison per KD variant that has at least one KD run. */
export function compareKdBaseline(runs: RunData[]): Comparison[] {
  const baselines = new Map<number, RunData>();
  const unpairedBase: string[] = [];
  for (const r of runs) {
    if (r.info.kind !== 'baseline') continue;
    if (r.info.seed === undefined) unpairedBase.push(`${r.name}: baseline without a seed in run.json`);
    else if (baselines.has(r.info.seed)) unpairedBase.push(`${r.name}: a second baseline for seed ${r.info.seed} (using ${baselines.get(r.info.seed)!.name})`);
    else baselines.set(r.info.seed, r);
  }
  const variants = new Map<string, RunData[]>();
  for (const r of runs) {
    if (r.info.kind !== 'kd') continue;
    const v = r.info.variant ?? 'kd';
    variants.set(v, [...(variants.get(v) ?? []), r]);
  }
  const out: Comparison[] = [];
  for (const [variant, kds] of variants) {
    const pairs: PairRow[] = [];
    const unpaired = [...unpairedBase];
    const usedSeeds = new Set<number>();
    for (const kd of kds) {
      const seed = kd.info.seed;
      const base = seed === undefined ? undefined : baselines.get(seed);
      const kdLoss = finalValLoss(kd);
      const baseLoss = base ? finalValLoss(base) : undefined;
      if (seed === undefined) unpaired.push(`${kd.name}: no seed in run.json`);
      else if (!base) unpaired.push(`${kd.name}: no baseline run with seed ${seed}`);
      else if (usedSeeds.has(seed)) unpaired.push(`${kd.name}: a second ${variant} run for seed ${seed}`);
      else if (kdLoss === undefined || baseLoss === undefined) unpaired.push(`${kd.name}: no final val loss for it or for ${base.name}`);
      else {
        usedSeeds.add(seed);
        pairs.push({ seed, kdRun: kd.name, baselineRun: base.name, kdLoss, baselineLoss: baseLoss, diff: kdLoss - baseLoss });
      }
    }
    pairs.sort((a, b) => a.seed - b.seed);
    const n = pairs.length;
    const meanDiff = n > 0 ? pairs.reduce((s, p) => s + p.diff, 0) / n : NaN;
    const sdDiff = n > 1 ? Math.sqrt(pairs.reduce((s, p) => s + (p.diff - meanDiff) ** 2, 0) / (n - 1)) : NaN;
    const c: Comparison = { variant, pairs, n, meanDiff, sdDiff, kdWins: pairs.filter((p) => p.diff < 0).length, unpaired };
    if (n > 1) {
      const half = (tCritical975(n - 1) * sdDiff) / Math.sqrt(n);
      c.ci95 = [meanDiff - half, meanDiff + half];
    }
    out.push(c);
  }
  return out;
}
