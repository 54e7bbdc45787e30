// The sweep's table: one row per cell read back from its run folder (eval.json, run.json,
// recipe.resolved.yaml), written as CSV and markdown. Reading and formatting only; no plots.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { CellOutcome, PlannedCell } from './run-cells.js';
import { valueLabel } from './spec.js';

export interface SweepRow {
  name: string;
  /** The cell's point (key path -> value), without the seed. */
  point: Record<string, unknown>;
  seed: number;
  status: 'done' | 'skipped' | 'failed' | 'missing';
  /** baseline (hard labels only) or kd, as the run decided (run.json). */
  kind?: 'kd' | 'baseline';
  /** Student parameters (N of the scaling law). */
  params?: number;
  /** Training tokens seen: steps × batchSize × seqLen (D of the scaling law). */
  tokens?: number;
  valLoss?: number;
  klToTeacher?: number;
  top1Agreement?: number;
  teacherValLoss?: number;
  seconds?: number;
}

function readJson(f: string): Record<string, unknown> | undefined {
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Reads each cell's folder; a cell with no eval.json is 'missing' (or its outcome's status). */
export function collectRows(sweepDir: string, cells: PlannedCell[], outcomes: CellOutcome[] = []): SweepRow[] {
  return cells.map((c) => {
    const dir = join(sweepDir, c.name);
    const ev = readJson(join(dir, 'eval.json')) as { student?: Record<string, number>; teacher?: Record<string, number> } | undefined;
    const info = readJson(join(dir, 'run.json')) as { kind?: 'kd' | 'baseline' } | undefined;
    const marker = readJson(join(dir, 'sweep-cell.json')) as { seconds?: number } | undefined;
    const outcome = outcomes.find((x) => x.name === c.name);
    let tokens = c.tokens;
    const rf = join(dir, 'recipe.resolved.yaml');
    if (existsSync(rf)) {
      const t = (parse(readFileSync(rf, 'utf8')) as { train?: { steps: number; batchSize: number; seqLen: number } }).train;
      if (t) tokens = t.steps * t.batchSize * t.seqLen;
    }
    const status = outcome?.status === 'failed' ? 'failed' : ev?.student ? (outcome?.status ?? 'done') : 'missing';
    return {
      name: c.name, point: c.point, seed: c.seed, status, kind: info?.kind, tokens,
      params: ev?.student?.params, valLoss: ev?.student?.valLoss, klToTeacher: ev?.student?.klToTeacher ?? undefined,
      top1Agreement: ev?.student?.top1Agreement ?? undefined, teacherValLoss: ev?.teacher?.valLoss, seconds: marker?.seconds ?? outcome?.seconds,
    };
  });
}

/** The point's keys, in first-seen order over the rows. */
export function pointKeys(rows: SweepRow[]): string[] {
  return [...new Set(rows.flatMap((r) => Object.keys(r.point)))];
}

const COLUMNS = ['kind', 'params', 'tokens', 'valLoss', 'klToTeacher', 'top1Agreement', 'teacherValLoss', 'seconds', 'status'] as const;

function cell(v: unknown, digits = 4): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  return typeof v === 'object' ? valueLabel(v) : String(v);
}

function table(rows: SweepRow[]): string[][] {
  const keys = pointKeys(rows);
  return [
    ['name', ...keys, 'seed', ...COLUMNS],
    ...rows.map((r) => [r.name, ...keys.map((k) => (typeof r.point[k] === 'number' ? String(r.point[k]) : cell(r.point[k]))), String(r.seed), ...COLUMNS.map((k) => cell(r[k], k === 'seconds' ? 1 : 4))]),
  ];
}

/** CSV (RFC 4180 quoting) with one row per cell. */
export function rowsCsv(rows: SweepRow[]): string {
  const q = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return table(rows).map((r) => r.map(q).join(',')).join('\n') + '\n';
}

/** A GitHub-flavoured markdown table with one row per cell. */
export function rowsMarkdown(rows: SweepRow[]): string {
  const t = table(rows);
  const line = (r: string[]): string => `| ${r.map((s) => s.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(t[0]), line(t[0].map(() => '---')), ...t.slice(1).map(line)].join('\n') + '\n';
}

/** Seed means by (student size, tokens): CE, KD, and KD's gain (CE − KD), as a markdown table; ''
 *  when the sweep has no CE/KD pair at any point. */
export function gainMarkdown(rows: SweepRow[]): string {
  const ok = rows.filter((r) => r.valLoss !== undefined && r.params !== undefined && r.tokens !== undefined);
  const keys = [...new Set(ok.map((r) => `${r.params} ${r.tokens}`))];
  const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
  const lines: string[] = [];
  for (const k of keys) {
    const [n, d] = k.split(' ').map(Number);
    const ce = ok.filter((r) => r.params === n && r.tokens === d && r.kind === 'baseline').map((r) => r.valLoss!);
    const kd = ok.filter((r) => r.params === n && r.tokens === d && r.kind === 'kd').map((r) => r.valLoss!);
    if (ce.length === 0 || kd.length === 0) continue;
    const gain = mean(ce) - mean(kd);
    lines.push(`| ${n} | ${d} | ${mean(ce).toFixed(4)} (${ce.length}) | ${mean(kd).toFixed(4)} (${kd.length}) | ${gain >= 0 ? '+' : ''}${gain.toFixed(4)} |`);
  }
  if (lines.length === 0) return '';
  return ['| params N | tokens D | CE val loss (runs) | KD val loss (runs) | KD gain (CE − KD) |', '| ---: | ---: | ---: | ---: | ---: |', ...lines].join('\n') + '\n';
}
