// The tune page: every ASHA job (trial, rung, steps, configuration, val loss), val loss vs steps
// per trial (promotions join their rungs), and val loss against each numeric parameter per rung.
// Drawing only; the trials come from tune.ts.
import { escapeXml as esc, PALETTE } from '../report/svg-plot.js';
import { xyPlot, type XySeries } from './sweep-plots.js';
import { pageHtml } from './sweep-report.js';
import type { TuneResult } from './tune.js';

export function buildTuneReportHtml(r: TuneResult, o: { title: string; source: string; budget: number; eta: number }): string {
  const ok = r.jobs.filter((j) => Number.isFinite(j.valLoss));
  const trials = [...new Set(ok.map((j) => j.trial))];
  const curves: XySeries[] = trials.map((t, i) => ({
    name: `trial ${t}`, color: PALETTE[i % PALETTE.length], style: 'both', points: ok.filter((j) => j.trial === t).map((j) => [j.steps, j.valLoss] as const),
  }));
  const keys = [...new Set(r.jobs.flatMap((j) => Object.keys(j.config)))];
  const numeric = keys.filter((k) => r.jobs.every((j) => typeof j.config[k] === 'number'));
  const perParam = numeric.map((k) => xyPlot(r.rungs.map((steps, i) => ({
    name: `rung ${i} (${steps} steps)`, color: PALETTE[i % PALETTE.length], style: 'points' as const,
    points: ok.filter((j) => j.steps === steps).map((j) => [j.config[k] as number, j.valLoss] as const),
  })), { title: `val loss vs ${k}`, xLabel: k, yLabel: 'val loss (nats/token)' }));
  const head = ['trial', 'rung', 'steps', ...keys, 'val loss', 'status', 'run folder'];
  const rows = r.jobs.map((j) => [String(j.trial), String(j.rung), String(j.steps), ...keys.map((k) => String(j.config[k] ?? '')), Number.isFinite(j.valLoss) ? j.valLoss.toFixed(4) : '—', j.status, j.name]);
  const best = r.best;
  return pageHtml(o.title, `From ${o.source}: ASHA with η = ${o.eta}, rungs of ${r.rungs.join(' / ')} steps, ${r.stepsSpent} of ${o.budget} budgeted steps spent, ${trials.length} trials; generated ${new Date().toISOString()}.`, [
    best ? `<h2>Best</h2><p>trial ${best.trial}: val loss ${best.valLoss.toFixed(4)} at ${best.steps} steps (rung ${best.rung}); ${esc(Object.entries(best.config).map(([k, v]) => `${k} = ${v}`).join(', '))}${r.bestRecipe ? `; recipe written to <code>${esc(r.bestRecipe)}</code>` : ''}.</p>` : '<p>No trial finished.</p>',
    `<h2>Trials</h2><div class="plots">${xyPlot(curves, { title: 'val loss vs steps, per trial', xLabel: 'training steps', yLabel: 'val loss (nats/token)', logX: true })}${perParam.join('')}</div>`,
    `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`,
  ]);
}
