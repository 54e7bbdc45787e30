// The over-distillation table: per run, the signals of a student that copies its teacher's surface
// and turns formulaic — top-1 agreement and KL to the teacher on validation, distinct-2 and the
// 4-gram repetition rate of its samples on fixed prompts — at the first and last evaluation, beside
// the teacher's own diversity, with a flag where the student repeats itself. It judges nothing else.

import { lastValue, type RunData } from './run-files.js';
import { escapeXml as esc } from './svg-plot.js';

/** A run is flagged when its last repetition rate reaches this: 30% of its 4-grams already said. */
export const REPETITION_FLAG = 0.3;
/** ... and exceeds the teacher's on the same prompts by this much (when the teacher's is logged). */
export const REPETITION_MARGIN = 0.1;

const first = (r: RunData, k: string): number | undefined => r.metrics.get(k)?.find((p) => Number.isFinite(p[1]))?.[1];

/** Why the run looks formulaic, or null. */
export function formulaicReason(r: RunData): string | null {
  const rep = lastValue(r, 'diversity/repetition_4');
  if (rep === undefined || rep < REPETITION_FLAG) return null;
  const teacher = lastValue(r, 'diversity/teacher_repetition_4');
  if (teacher !== undefined && rep < teacher + REPETITION_MARGIN) return null;
  const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
  return `repeats ${pct(rep)} of its 4-grams${teacher !== undefined ? ` (teacher ${pct(teacher)})` : ''}`;
}

function cell(a: number | undefined, b: number | undefined, pct: boolean): string {
  const f = (v: number | undefined) => (v === undefined ? '—' : pct ? `${(100 * v).toFixed(1)}%` : v.toFixed(4));
  return a === undefined && b === undefined ? '—' : `${f(a)} → ${f(b)}`;
}

/** The table, or '' when no run logged any of the signals. */
export function overDistillationTable(runs: RunData[]): string {
  const keys = ['val/top1_agreement', 'val/kl_to_teacher', 'diversity/distinct_2', 'diversity/repetition_4'];
  const shown = runs.filter((r) => keys.some((k) => r.metrics.has(k)));
  if (shown.length === 0) return '';
  const rows = shown.map((r) => {
    const why = formulaicReason(r);
    const teacher = (k: string) => lastValue(r, `diversity/teacher_${k}`);
    const td = teacher('distinct_2'), tr = teacher('repetition_4');
    return `<tr><td>${esc(r.name)}</td>` +
      `<td>${cell(first(r, keys[0]), lastValue(r, keys[0]), true)}</td><td>${cell(first(r, keys[1]), lastValue(r, keys[1]), false)}</td>` +
      `<td>${cell(first(r, keys[2]), lastValue(r, keys[2]), true)}</td><td>${cell(first(r, keys[3]), lastValue(r, keys[3]), true)}</td>` +
      `<td>${td === undefined ? '—' : `${(100 * td).toFixed(1)}%`} / ${tr === undefined ? '—' : `${(100 * tr).toFixed(1)}%`}</td>` +
      `<td class="${why ? 'worse' : ''}">${why ? `formulaic? ${esc(why)}` : 'ok'}</td></tr>`;
  });
  return [
    '<h2>Over-distillation signals</h2>',
    '<table class="overdistill"><thead><tr><th>run</th><th>top-1 agree (val)</th><th>KL to teacher (val, nats)</th><th>distinct-2</th><th>repetition (4-grams)</th><th>teacher distinct-2 / repetition</th><th>flag</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
    `<p class="meta">First → last evaluation. Diversity is measured on the recipe's fixed sample prompts (eval.samples) at every evaluation: distinct-2 = unique bigrams / bigrams over all continuations; repetition = share of a continuation's 4-grams it already produced. A student is flagged when it repeats ≥ ${100 * REPETITION_FLAG}% of its 4-grams and ${100 * REPETITION_MARGIN} points more than the teacher on the same prompts: agreement climbing while diversity falls is a student copying surface patterns.</p>`,
  ].join('\n');
}
