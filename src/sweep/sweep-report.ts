// The sweep's HTML page: the summary table, loss vs tokens per student size (CE and KD, with the
// fitted laws when --fit ran), KD gain vs size per budget, a T × α heat map when both were swept,
// the fit's parameters and predictions; pageHtml is the shell tune's page shares. One self-contained file.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import { escapeXml as esc, PALETTE } from '../report/svg-plot.js';
import { predictLoss } from './scaling-fit.js';
import type { SweepFit } from './fit-sweep.js';
import { formatFit } from './fit-sweep.js';
import { heatMap, xyPlot, type XySeries } from './sweep-plots.js';
import { gainMarkdown, pointKeys, rowsMarkdown, type SweepRow } from './summary.js';
import { valueLabel } from './spec.js';

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1320px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}.meta{color:#666;font-size:12px}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plots svg{border:1px solid #e4e4e4;border-radius:4px}
svg .grid{stroke:#eee}svg .axis{stroke:#444}svg .frame{fill:none;stroke:#888}svg text{font:11px system-ui,sans-serif;fill:#333}
svg .title{font-size:13px;font-weight:600}svg .label{font-size:12px;fill:#555}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f5f5f5}
td:first-child{text-align:left}pre{background:#f7f7f7;border:1px solid #e4e4e4;padding:8px;white-space:pre-wrap}`;

export interface SweepReportInput {
  title: string;
  rows: SweepRow[];
  fit?: SweepFit;
  /** The sweep or recipe file it came from (shown in the header). */
  source: string;
  /** HTML sections appended after the plots. */
  extra?: string[];
}

const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
const done = (rows: SweepRow[]): SweepRow[] => rows.filter((r) => r.valLoss !== undefined && r.params !== undefined && r.tokens !== undefined);

/** Mean val loss of rows by a key, in key order. */
function meanBy(rows: SweepRow[], key: (r: SweepRow) => number): [number, number][] {
  const m = new Map<number, number[]>();
  for (const r of rows) m.set(key(r), [...(m.get(key(r)) ?? []), r.valLoss!]);
  return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => [k, mean(v)]);
}

function lossVsTokens(rows: SweepRow[], fit?: SweepFit): string {
  const sizes = [...new Set(rows.map((r) => r.params!))].sort((a, b) => a - b);
  const plots: string[] = [];
  for (const [kind, label, law] of [['baseline', 'CE', fit?.ce.law], ['kd', 'KD', fit?.kd.law]] as const) {
    const rs = rows.filter((r) => r.kind === kind);
    if (rs.length === 0) continue;
    const ds = rs.map((r) => r.tokens!);
    const d0 = Math.min(...ds), d1 = Math.max(...ds);
    const series: XySeries[] = sizes.flatMap((n, i) => {
      const mine = rs.filter((r) => r.params === n);
      if (mine.length === 0) return [];
      const s: XySeries[] = [{ name: `N=${n}`, color: PALETTE[i % PALETTE.length], style: 'points', points: mine.map((r) => [r.tokens!, r.valLoss!] as const) }];
      if (law) s.push({ name: `fit N=${n}`, color: PALETTE[i % PALETTE.length], style: 'line', points: Array.from({ length: 25 }, (_, j) => { const d = d0 * (d1 / d0) ** (j / 24); return [d, predictLoss(law, n, d)] as const; }) });
      return s;
    });
    plots.push(xyPlot(series, { title: `${label} students: val loss vs training tokens`, xLabel: 'training tokens D', yLabel: 'val loss (nats/token)', logX: true }));
  }
  return plots.join('\n');
}

function gainVsSize(rows: SweepRow[], fit?: SweepFit): string {
  const budgets = [...new Set(rows.map((r) => r.tokens!))].sort((a, b) => a - b);
  const ns = rows.map((r) => r.params!);
  const n0 = Math.min(...ns), n1 = 4 * Math.max(...ns); // the fit's lines run on to 4× the largest student
  const series: XySeries[] = budgets.flatMap((d, i) => {
    const ce = new Map(meanBy(rows.filter((r) => r.kind === 'baseline' && r.tokens === d), (r) => r.params!));
    const kd = meanBy(rows.filter((r) => r.kind === 'kd' && r.tokens === d), (r) => r.params!);
    const color = PALETTE[i % PALETTE.length];
    const s: XySeries[] = [{ name: `D=${d}`, color, style: 'points', points: kd.filter(([n]) => ce.has(n)).map(([n, l]) => [n, ce.get(n)! - l] as const) }];
    if (fit) {
      s.push({ name: `fit D=${d}`, color, style: 'line', points: Array.from({ length: 25 }, (_, j) => {
        const n = n0 * (n1 / n0) ** (j / 24);
        return [n, predictLoss(fit.ce.law, n, d) - predictLoss(fit.kd.law, n, d)] as const;
      }) });
    }
    return s;
  }).filter((s) => s.points.length > 0);
  if (!series.some((s) => s.style === 'points')) return '';
  return xyPlot(series, { title: 'KD gain (CE − KD val loss, seed mean) vs student size', xLabel: 'student params N', yLabel: 'KD gain (nats/token)', logX: true, height: 360 });
}

function heat(rows: SweepRow[]): string {
  const keys = pointKeys(rows);
  const tk = keys.find((k) => k.endsWith('temperature')), ak = keys.find((k) => k.endsWith('alpha'));
  if (!tk || !ak) return '';
  const ts = [...new Set(rows.map((r) => valueLabel(r.point[tk])))], as = [...new Set(rows.map((r) => valueLabel(r.point[ak])))];
  const values = ts.map((t) => as.map((a) => {
    const v = rows.filter((r) => valueLabel(r.point[tk]) === t && valueLabel(r.point[ak]) === a).map((r) => r.valLoss!);
    return v.length ? mean(v) : NaN;
  }));
  return heatMap(ts, as, values, { title: 'val loss (seed mean) over T × α', rowTitle: `T (${tk})`, colTitle: `α, weight of CE (${ak})` });
}

/** A self-contained page: title, a meta line, then the sections' HTML. */
export function pageHtml(title: string, meta: string, sections: string[]): string {
  return ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">', `<title>${esc(title)}</title><style>${CSS}</style></head><body>`,
    `<h1>${esc(title)}</h1>`, `<p class="meta">${esc(meta)}</p>`, ...sections, '</body></html>', ''].join('\n');
}

export function buildSweepReportHtml(o: SweepReportInput): string {
  const rows = done(o.rows);
  const plots = [lossVsTokens(rows, o.fit), gainVsSize(rows, o.fit), heat(rows)].filter((s) => s !== '');
  return pageHtml(o.title, `From ${o.source}, ${o.rows.length} cells (${rows.length} finished), generated ${new Date().toISOString()}.`, [
    plots.length ? `<h2>Plots</h2><div class="plots">${plots.join('\n')}</div>` : '',
    o.fit ? `<h2>Scaling-law fit</h2><pre>${esc(formatFit(o.fit))}</pre>` : '',
    ...(o.extra ?? []),
    gainMarkdown(o.rows) ? `<h2>CE vs KD (seed means)</h2>${mdTable(gainMarkdown(o.rows))}` : '',
    '<h2>Cells</h2>', mdTable(rowsMarkdown(o.rows)),
  ]);
}

/** A markdown table (as rowsMarkdown writes it) as an HTML table. */
export function mdTable(md: string): string {
  const lines = md.trim().split('\n').filter((_, i) => i !== 1).map((l) => l.slice(2, -2).split(' | '));
  return `<table><thead><tr>${lines[0].map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${lines.slice(1).map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** Writes the page atomically. */
export function writeSweepReport(path: string, o: SweepReportInput): void {
  writePage(path, buildSweepReportHtml(o));
}

/** Writes a page atomically, creating its folder. */
export function writePage(path: string, html: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, html);
}
