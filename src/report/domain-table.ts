// The report's in-domain / out-of-domain table: each model's final val loss beside its loss on
// the recipe's eval.extra sets (nats/token and bits/byte), and the KD − baseline difference of
// the means on each column. Only runs whose eval.json carries "extra" make one. It reads no files.
import { finalValLoss, type EvalEntry, type RunData } from './run-files.js';
import { escapeXml as esc } from './svg-plot.js';

const DASH = '—';
const fmt = (v: number | undefined, d: number): string => (v === undefined || !Number.isFinite(v) ? DASH : v.toFixed(d));
const mean = (xs: number[]): number | undefined => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);

/** The set names any run (or its teacher) was scored on, in first-seen order. */
function setNames(runs: RunData[]): string[] {
  const names = new Set<string>();
  for (const r of runs) for (const e of [r.teacher, r.student]) for (const n of Object.keys(e?.extra ?? {})) names.add(n);
  return [...names];
}

/** Cells for one model: in-domain nats/token, then nats/token and bits/byte per set. */
function cells(valLoss: number | undefined, e: EvalEntry | undefined, names: string[]): (number | undefined)[] {
  return [valLoss, ...names.flatMap((n) => [e?.extra?.[n]?.valLoss, e?.extra?.[n]?.bitsPerByte])];
}

export function domainSection(runs: RunData[]): string {
  const names = setNames(runs);
  if (names.length === 0) return '';
  const rows: string[] = [];
  const row = (label: string, vs: (number | undefined)[], signed = false) =>
    `<tr><td>${esc(label)}</td>${vs.map((v) => `<td>${signed && v !== undefined && v > 0 ? '+' : ''}${fmt(v, 4)}</td>`).join('')}</tr>`;
  const teacher = runs.find((r) => r.teacher?.extra)?.teacher;
  if (teacher) rows.push(row(`teacher${teacher.name ? ` (${teacher.name})` : ''}`, cells(teacher.valLoss, teacher, names)));
  const byKind = { kd: [] as (number | undefined)[][], baseline: [] as (number | undefined)[][] };
  for (const r of runs) {
    const c = cells(finalValLoss(r), r.student, names);
    rows.push(row(r.name, c));
    if (r.info.kind) byKind[r.info.kind].push(c);
  }
  if (byKind.kd.length && byKind.baseline.length) {
    const col = (rs: (number | undefined)[][], i: number) => mean(rs.map((c) => c[i]).filter((v): v is number => v !== undefined));
    const diff = byKind.kd[0].map((_, i) => {
      const k = col(byKind.kd, i), b = col(byKind.baseline, i);
      return k === undefined || b === undefined ? undefined : k - b;
    });
    rows.push(row('KD − baseline (means)', diff, true));
  }
  const head = ['model', 'in-domain val (nats/token)', ...names.flatMap((n) => [`${n} (nats/token)`, `${n} (bits/byte)`])];
  return [
    '<h2>In domain and out of domain</h2>',
    `<table class="eval"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>`,
    ...rows,
    '</tbody></table>',
    `<p class="meta">Out-of-domain columns: the recipe's eval.extra sets, each whole file scored at the end of the run (eval.json "extra"); negative KD − baseline = KD better. ${DASH} = not measured.</p>`,
  ].join('\n');
}
