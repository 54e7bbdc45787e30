// Builds the report page from loaded runs: the KD-vs-baseline chart and table first, then the
// over-distillation signals, the runs and eval tables, the charts grouped by metric kind, the
// values logged once, the --profile op table and sample generations. One self-contained HTML
// string: inline CSS and SVG, no scripts, no external resources.

import { compareKdBaseline, type Comparison } from './compare.js';
import { domainSection } from './domain-table.js';
import { kdBaselineChart } from './kd-chart.js';
import { overDistillationTable } from './over-distillation.js';
import { chartSections, runColor, singleValueTable } from './report-charts.js';
import { finalValLoss, type EvalEntry, type RunData } from './run-files.js';
import { escapeXml as esc } from './svg-plot.js';

export interface ReportHtmlOptions {
  title?: string;
  /** y axis of every loss plot: true, false, or 'auto' (log when all > 0 and max/min >= 10); other
   *  kinds are always linear. Default 'auto'. */
  logY?: boolean | 'auto';
  /** Newest sample step shown per run, at most this many samples. Default 6. */
  samplesPerRun?: number;
  /** Charts at most in the 'count' and 'other' sections. Default 12. */
  maxOtherPlots?: number;
  /** Timestamp printed in the header. Default now (ISO). */
  generatedAt?: string;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1320px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}.meta{color:#666;font-size:12px}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plots svg{border:1px solid #e4e4e4;border-radius:4px}
svg .grid{stroke:#eee;stroke-width:1}svg .axis{stroke:#444}svg .frame{fill:none;stroke:#888}
svg text{font:11px system-ui,sans-serif;fill:#333}svg .title{font-size:13px;font-weight:600}
svg .label{font-size:12px;fill:#555}svg .nodata{fill:#999;font-size:13px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 10px;text-align:right}
th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}
table.samples{width:100%;table-layout:fixed}table.samples td{text-align:left;vertical-align:top}table.samples pre{margin:0;white-space:pre-wrap}
.better{color:#0a7a2f}.worse{color:#b3261e}.warn{color:#8a5a00;font-size:12px}
pre{background:#f7f7f7;border:1px solid #e4e4e4;padding:8px;white-space:pre-wrap;word-break:break-word;max-height:320px;overflow:auto}
.lead svg{border-color:#bbb}table.overdistill td{white-space:nowrap}table.single td .meta{font-size:11px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:middle}
`;

const DASH = '—';
const fmt = (v: number | undefined, digits: number): string => (v === undefined || !Number.isFinite(v) ? DASH : v.toFixed(digits));
const fmtSigned = (v: number, digits: number): string => (v > 0 ? '+' : v < 0 ? '−' : '') + Math.abs(v).toFixed(digits);

/** 124000000 -> "124.0M", 30500 -> "30.5k". */
export function formatCount(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return DASH;
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)}B`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(0);
}

function evalRow(label: string, kind: string, seed: string, e: EvalEntry | undefined, valLoss: number | undefined, fromMetrics: boolean): string {
  const ppl = e?.ppl ?? (valLoss !== undefined ? Math.exp(valLoss) : undefined);
  const cells = [
    esc(label), esc(kind), esc(seed),
    fmt(valLoss, 4) + (fromMetrics && valLoss !== undefined ? '*' : ''),
    fmt(ppl, 2),
    fmt(e?.klToTeacher, 4),
    e?.top1Agreement === undefined ? DASH : `${(e.top1Agreement * 100).toFixed(1)}%`,
    formatCount(e?.params),
    formatCount(e?.tokensPerSec),
  ];
  return `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
}

function evalSection(runs: RunData[]): string {
  const rows: string[] = [];
  const seenTeachers = new Set<string>();
  for (const r of runs) {
    if (!r.teacher) continue;
    const key = JSON.stringify(r.teacher);
    if (seenTeachers.has(key)) continue;
    seenTeachers.add(key);
    rows.push(evalRow(`teacher${r.teacher.name ? ` (${r.teacher.name})` : ''}`, 'teacher', DASH, r.teacher, r.teacher.valLoss, false));
  }
  let anyFromMetrics = false;
  for (const r of runs) {
    const fromMetrics = r.student?.valLoss === undefined && finalValLoss(r) !== undefined;
    anyFromMetrics ||= fromMetrics;
    rows.push(evalRow(r.name, r.info.kind ?? DASH, r.info.seed === undefined ? DASH : String(r.info.seed), r.student, finalValLoss(r), fromMetrics));
  }
  const head = ['model', 'kind', 'seed', 'val loss', 'ppl', 'KL to teacher', 'top-1 agree', 'params', 'tokens/s'];
  return [
    '<h2>Evaluation</h2>',
    `<table class="eval"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>`,
    ...rows,
    '</tbody></table>',
    `<p class="meta">From each run's eval.json; ppl = exp(val loss) where eval.json gives none.${anyFromMetrics ? ' * last val/loss in metrics.jsonl (no eval.json value).' : ''} ${DASH} = not measured.</p>`,
    exportSizes(runs),
  ].join('\n');
}

/** Bytes as B / KB / MB / GB (powers of 1024). */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}

/** What each student weighs exported as GGUF of each type (eval.json student.exportBytes), beside the eval table. */
function exportSizes(runs: RunData[]): string {
  const withSizes = runs.filter((r) => r.student?.exportBytes);
  if (withSizes.length === 0) return '';
  const types = [...new Set(withSizes.flatMap((r) => Object.keys(r.student!.exportBytes!)))];
  const rows = withSizes.map((r) => `<tr><td>${esc(r.name)}</td>${types.map((t) => {
    const b = r.student!.exportBytes![t];
    return `<td>${b === undefined ? DASH : formatBytes(b)}</td>`;
  }).join('')}</tr>`);
  return [
    `<table class="eval exports"><thead><tr><th>student exported as GGUF</th>${types.map((t) => `<th>${esc(t.toLowerCase())}</th>`).join('')}</tr></thead><tbody>`,
    ...rows,
    '</tbody></table>',
    '<p class="meta">Tensor data of <code>distill export RUN --format gguf --quant T</code> (<code>--dtype</code> for f32 / f16) (1-D tensors stay f32; rows a block does not divide fall back to q8_0 or f16, as llama.cpp allows); the vocabulary and metadata add a few KB.</p>',
  ].join('\n');
}

function comparisonBlock(c: Comparison): string {
  const rows = c.pairs.map(
    (p) => `<tr><td>${p.seed}</td><td>${esc(p.kdRun)}</td><td>${esc(p.baselineRun)}</td><td>${p.kdLoss.toFixed(4)}</td><td>${p.baselineLoss.toFixed(4)}</td>` +
      `<td class="${p.diff < 0 ? 'better' : p.diff > 0 ? 'worse' : ''}">${fmtSigned(p.diff, 4)}</td></tr>`,
  );
  const summary = c.n === 0
    ? 'No pairs: KD and baseline runs need the same seed in run.json.'
    : `Mean difference ${fmtSigned(c.meanDiff, 4)} over ${c.n} seed${c.n > 1 ? 's' : ''}` +
      (c.ci95 ? ` (SD ${c.sdDiff.toFixed(4)}, 95% t interval [${fmtSigned(c.ci95[0], 4)}, ${fmtSigned(c.ci95[1], 4)}])` : ' (one pair: no interval)') +
      `; KD lower in ${c.kdWins} of ${c.n}. Negative = distillation helped.`;
  return [
    `<h3>${esc(c.variant)} vs baseline</h3>`,
    '<table class="compare"><thead><tr><th>seed</th><th>KD run</th><th>baseline run</th><th>KD val loss</th><th>baseline val loss</th><th>KD − baseline</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
    `<p>${summary}</p>`,
    ...c.unpaired.map((u) => `<p class="warn">not paired: ${esc(u)}</p>`),
  ].join('\n');
}

/** The page's lead: per KD variant, the val-loss chart (mean over seeds, seed spread as a band)
 *  and the paired table of final values. */
function comparisonSection(runs: RunData[], o: ReportHtmlOptions): string {
  const cs = compareKdBaseline(runs);
  if (cs.length === 0) return '<h2>KD vs baseline</h2><p>No run has "kind": "kd" in its run.json; nothing to compare.</p>';
  return ['<h2>KD vs baseline (paired by seed)</h2>', ...cs.flatMap((c) => [kdBaselineChart(c, runs, o.logY ?? 'auto'), comparisonBlock(c)])].join('\n');
}

/** Ops shown per run in the --profile table: the costliest; profile.json has them all. */
const PROFILE_OPS = 15;

/** Per run with a profile.json (distill run --profile): the costliest backend ops. */
function profileSection(runs: RunData[]): string {
  const withProfile = runs.filter((r) => r.profile);
  if (withProfile.length === 0) return '';
  const parts = ['<h2>Time per op (--profile)</h2>'];
  for (const r of withProfile) {
    const p = r.profile!;
    const rows = [...p.ops].sort((a, b) => b.seconds - a.seconds).slice(0, PROFILE_OPS).map((o) =>
      `<tr><td>${esc(o.op)}</td><td>${esc(o.group)}</td><td>${o.seconds.toFixed(3)}</td><td>${p.wallSeconds > 0 ? ((100 * o.seconds) / p.wallSeconds).toFixed(1) : DASH}</td><td>${o.calls}</td><td>${o.calls > 0 ? ((1000 * o.seconds) / o.calls).toFixed(3) : DASH}</td></tr>`);
    parts.push(`<h3>${esc(r.name)}: ${p.wallSeconds.toFixed(2)} s of training loop</h3>`,
      '<table class="profile"><thead><tr><th>op</th><th>group</th><th>time s</th><th>% of wall</th><th>calls</th><th>ms/call</th></tr></thead><tbody>', ...rows, '</tbody></table>');
  }
  parts.push(`<p class="meta">The ${PROFILE_OPS} costliest backend ops of each profiled run; every op is in its profile.json, and in TensorBoard as profile/op/&lt;op&gt;_s.</p>`);
  return parts.join('\n');
}

/** Tag prefix of the teacher's samples (src/train/run.ts), shown beside the student's. */
const TEACHER_TAG = 'teacher-samples/';

function samplesSection(runs: RunData[], o: ReportHtmlOptions): string {
  const parts = ['<h2>Sample generations</h2>'];
  let any = false;
  for (const r of runs) {
    if (r.samples.length === 0) continue;
    any = true;
    const last = Math.max(...r.samples.map((s) => s.step));
    const atLast = r.samples.filter((s) => s.step === last);
    // The teacher's continuations of the same prompts (tag teacher-samples/i beside samples/i).
    const teacherOf = new Map(atLast.filter((s) => s.tag.startsWith(TEACHER_TAG)).map((s) => [s.tag.slice(TEACHER_TAG.length), s.text]));
    const shown = atLast.filter((s) => !s.tag.startsWith(TEACHER_TAG)).slice(0, o.samplesPerRun ?? 6);
    parts.push(`<h3>${esc(r.name)} — step ${last}</h3>`);
    for (const s of shown) {
      const meta = `<p class="meta">${esc(s.tag)}${s.prompt !== undefined ? ` — prompt: ${esc(s.prompt)}` : ''}</p>`;
      const t = teacherOf.get(s.tag.slice(s.tag.lastIndexOf('/') + 1));
      parts.push(t === undefined ? `${meta}<pre>${esc(s.text)}</pre>`
        : `${meta}<table class="samples"><tr><th>student</th><th>teacher, same prompt</th></tr><tr><td><pre>${esc(s.text)}</pre></td><td><pre>${esc(t)}</pre></td></tr></table>`);
    }
  }
  if (!any) parts.push('<p>No samples.jsonl in any run.</p>');
  return parts.join('\n');
}

function runsSection(runs: RunData[]): string {
  const rows = runs.map((r, i) => {
    const warn = r.warnings.map((w) => `<div class="warn">${esc(w)}</div>`).join('');
    return `<tr><td><span class="swatch" style="background:${runColor(i)}"></span>${esc(r.name)}</td><td>${esc(r.info.kind ?? DASH)}</td>` +
      `<td>${r.info.seed ?? DASH}</td><td>${esc(r.info.teacher ?? DASH)}</td><td style="text-align:left">${esc(r.dir)}${warn}</td></tr>`;
  });
  const recipes = runs.filter((r) => r.recipe !== undefined).map((r) => `<details><summary>${esc(r.name)}: recipe.resolved.yaml</summary><pre>${esc(r.recipe!)}</pre></details>`);
  return ['<h2>Runs</h2>', '<table><thead><tr><th>run</th><th>kind</th><th>seed</th><th>teacher</th><th>folder</th></tr></thead><tbody>', ...rows, '</tbody></table>', ...recipes].join('\n');
}

/** The whole report page. */
export function buildReportHtml(runs: RunData[], o: ReportHtmlOptions = {}): string {
  const title = o.title ?? `distill report: ${runs.map((r) => r.name).join(', ')}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${esc(title)}</title>`,
    `<style>${CSS}</style></head><body>`,
    `<h1>${esc(title)}</h1>`,
    `<p class="meta">Generated ${esc(o.generatedAt ?? new Date().toISOString())} from ${runs.length} run folder${runs.length === 1 ? '' : 's'}.</p>`,
    comparisonSection(runs, o),
    overDistillationTable(runs),
    runsSection(runs),
    evalSection(runs),
    domainSection(runs),
    chartSections(runs, o),
    singleValueTable(runs),
    profileSection(runs),
    samplesSection(runs, o),
    '</body></html>',
    '',
  ].join('\n');
}
