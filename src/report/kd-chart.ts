// The chart that leads the report: validation loss over steps of the KD runs and of their paired
// baselines (compare.ts pairs them by seed), each drawn as the mean over seeds with the seed spread
// (lowest to highest seed at each step) as a band. It computes no statistics beyond that.

import type { Comparison } from './compare.js';
import type { RunData } from './run-files.js';
import { escapeXml as esc, linePlot, PALETTE, type PlotSeries } from './svg-plot.js';

/** Colours of the two groups: Okabe–Ito blue for KD, vermillion for the baseline. */
const KD_COLOR = PALETTE[0];
const BASE_COLOR = PALETTE[1];

/** At each step every run logged `key` at: the mean, min and max over runs. Steps not logged by
 *  every run are left out (a mean over fewer seeds would jump). */
export function seedBand(runs: RunData[], key: string): { mean: [number, number][]; band: [number, number, number][] } {
  const series = runs.map((r) => new Map((r.metrics.get(key) ?? []).filter((p) => Number.isFinite(p[1]))));
  if (series.length === 0) return { mean: [], band: [] };
  const steps = [...series[0].keys()].filter((s) => series.every((m) => m.has(s))).sort((a, b) => a - b);
  const mean: [number, number][] = [];
  const band: [number, number, number][] = [];
  for (const s of steps) {
    const vs = series.map((m) => m.get(s)!);
    mean.push([s, vs.reduce((a, b) => a + b, 0) / vs.length]);
    band.push([s, Math.min(...vs), Math.max(...vs)]);
  }
  return { mean, band };
}

/** The KD-vs-baseline chart of one variant, or a line saying why there is none. */
export function kdBaselineChart(c: Comparison, runs: RunData[], logY: boolean | 'auto' = 'auto'): string {
  if (c.n === 0) return '';
  const byName = new Map(runs.map((r) => [r.name, r] as const));
  const kd = seedBand(c.pairs.map((p) => byName.get(p.kdRun)!), 'val/loss');
  const base = seedBand(c.pairs.map((p) => byName.get(p.baselineRun)!), 'val/loss');
  if (kd.mean.length < 2 || base.mean.length < 2) {
    return `<p class="meta">No val/loss curve to draw for ${esc(c.variant)}: the runs log validation loss at fewer than two common steps (eval.every 0?); the table below has the final values.</p>`;
  }
  const seeds = `${c.n} seed${c.n > 1 ? 's' : ''}`;
  const series: PlotSeries[] = [
    { name: `${c.variant} (${seeds})`, color: KD_COLOR, points: kd.mean, band: c.n > 1 ? kd.band : undefined },
    { name: `baseline (${seeds})`, color: BASE_COLOR, points: base.mean, band: c.n > 1 ? base.band : undefined },
  ];
  const note = c.n > 1
    ? `Lines: mean val/loss over the ${c.n} paired seeds (${c.pairs.map((p) => p.seed).join(', ')}); bands: lowest to highest seed at each step.`
    : `One seed (${c.pairs[0].seed}): no spread to show; run more seeds (distill run --seeds 1,2,3) for a band.`;
  return [
    `<div class="plots lead">${linePlot(series, { title: `val loss: ${c.variant} vs baseline`, xLabel: 'step', yLabel: 'nats', logY, width: 760, height: 360 })}</div>`,
    `<p class="meta">${esc(note)}</p>`,
  ].join('\n');
}
