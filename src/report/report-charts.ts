// The report's scalar charts, grouped by metric kind (monitor/metric-kinds.ts): one section per
// kind, every axis labelled with the metric's unit, a log axis only for losses, seconds never
// beside nats. Metrics with at most one point in every run are not charted: they go to one table.
// It reads loaded runs; it does not read files or decide the page's order (report-html.ts does).

import { axisLabel, KIND_SECTIONS, metricInfo, type MetricInfo } from '../monitor/metric-kinds.js';
import type { RunData } from './run-files.js';
import { escapeXml as esc, linePlot, PALETTE, type PlotSeries } from './svg-plot.js';

export interface ChartOptions {
  /** Loss axes: true, false, or 'auto' (log when all > 0 and max/min >= 10). Default 'auto'. */
  logY?: boolean | 'auto';
  /** Charts at most in the 'count' and 'other' sections. Default 12. */
  maxOtherPlots?: number;
}

/** One colour per run, the same in every plot and in the runs table. */
export const runColor = (i: number): string => PALETTE[i % PALETTE.length];

/** Metric families drawn one chart per run with the family's metrics (one unit) as the series: the
 *  parts of a step, the kinds of memory. Every other metric: one chart, runs overlaid. */
const PER_RUN: ReadonlyArray<{ prefix: string; title: string }> = [
  { prefix: 'step_time/', title: 'step time split' },
  { prefix: 'mem/', title: 'memory' },
];

/** The most points any run has for `key`. */
function maxPoints(runs: RunData[], key: string): number {
  return Math.max(0, ...runs.map((r) => r.metrics.get(key)?.filter((p) => Number.isFinite(p[1])).length ?? 0));
}

/** Metric names across runs, split into charted (≥ 2 points in some run) and single-valued. */
export function splitMetrics(runs: RunData[]): { charted: string[]; single: string[] } {
  const keys = new Set<string>();
  for (const r of runs) for (const k of r.metrics.keys()) keys.add(k);
  const rank = (k: string): number => (k === 'train/loss' ? 0 : k === 'val/loss' ? 1 : 2);
  const kindOrder = (k: string): number => KIND_SECTIONS.findIndex((s) => s.kind === metricInfo(k).kind);
  const sorted = [...keys].sort((a, b) => kindOrder(a) - kindOrder(b) || rank(a) - rank(b) || a.localeCompare(b));
  return { charted: sorted.filter((k) => maxPoints(runs, k) >= 2), single: sorted.filter((k) => maxPoints(runs, k) < 2) };
}

function plotOpts(info: MetricInfo, title: string, o: ChartOptions, height?: number) {
  return { title, xLabel: 'step', yLabel: axisLabel(info), logY: info.logScale ? (o.logY ?? 'auto') : false, height };
}

/** Drops a shared group prefix from a series name within one chart: 'step_time/forward_ms' -> 'forward_ms'. */
const shortName = (k: string): string => k.slice(k.indexOf('/') + 1);

/** The sections of charts, one per kind that has charted metrics. */
export function chartSections(runs: RunData[], o: ChartOptions = {}): string {
  const { charted } = splitMetrics(runs);
  const overlay = (k: string): PlotSeries[] => runs.flatMap((r, i) => (r.metrics.has(k) ? [{ name: r.name, color: runColor(i), points: r.metrics.get(k)! }] : []));
  const parts: string[] = [];
  for (const { kind, title } of KIND_SECTIONS) {
    let keys = charted.filter((k) => metricInfo(k).kind === kind);
    if (keys.length === 0) continue;
    if (kind === 'count' || kind === 'other') keys = keys.slice(0, o.maxOtherPlots ?? 12);
    parts.push(`<h2>${esc(title)}</h2><div class="plots">`);
    for (const fam of PER_RUN) {
      const ofFamily = keys.filter((k) => k.startsWith(fam.prefix));
      keys = keys.filter((k) => !k.startsWith(fam.prefix));
      for (const r of runs) {
        const series = ofFamily.filter((k) => (r.metrics.get(k)?.length ?? 0) >= 2).map((k) => ({ name: shortName(k), points: r.metrics.get(k)! }));
        if (series.length > 0) parts.push(linePlot(series, plotOpts(metricInfo(ofFamily[0]), `${r.name}: ${fam.title}`, o)));
      }
    }
    for (const k of keys) parts.push(linePlot(overlay(k), plotOpts(metricInfo(k), k, o, kind === 'loss' ? undefined : 240)));
    // losses of one run together (same unit): how CE and KD move against each other
    if (kind === 'loss' && (runs.length > 1 || keys.length > 1)) {
      for (const r of runs) {
        const series = keys.filter((k) => (r.metrics.get(k)?.length ?? 0) >= 2).map((k) => ({ name: k, points: r.metrics.get(k)! }));
        if (series.length > 0) parts.push(linePlot(series, plotOpts(metricInfo('train/loss'), `${r.name}: losses`, o)));
      }
    }
    parts.push('</div>');
  }
  if (parts.length === 0) return '<h2>Curves</h2><p>No metric has two or more points in any metrics.jsonl.</p>';
  return parts.join('\n');
}

/** A value with its unit, compactly: 0.4123 nats -> "0.4123", 412.3 MiB -> "412.3 MiB". */
export function formatWithUnit(v: number | undefined, info: MetricInfo): string {
  if (v === undefined) return '—';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  const num = a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : Number(v.toPrecision(5)).toString();
  return info.unit && info.unit !== 'nats' && info.unit !== 'fraction' ? `${num} ${info.unit}` : num;
}

/** The metrics logged once (or never twice) per run: one row each, one column per run. */
export function singleValueTable(runs: RunData[]): string {
  const { single } = splitMetrics(runs);
  if (single.length === 0) return '';
  const head = ['metric', 'kind', 'unit', ...runs.map((r) => r.name)];
  const rows = single.map((k) => {
    const info = metricInfo(k);
    const cells = runs.map((r) => {
      const p = r.metrics.get(k)?.filter((x) => Number.isFinite(x[1])).at(-1);
      return p === undefined ? '—' : `${esc(formatWithUnit(p[1], { ...info, unit: '' }))} <span class="meta">@${p[0]}</span>`;
    });
    return `<tr><td>${esc(k)}</td><td>${info.kind}</td><td>${esc(info.unit || '—')}</td>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  });
  return [
    '<h2>Values logged once</h2>',
    `<table class="single"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>`,
    ...rows,
    '</tbody></table>',
    '<p class="meta">Metrics with a single point per run (end-of-run numbers, --profile totals, the teacher\'s sample diversity) are listed here rather than drawn; @N is the step.</p>',
  ].join('\n');
}
