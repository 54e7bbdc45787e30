// Text rendering of evaluateTable's rows (eval-table.ts): one aligned table, a row per model ×
// data, "—" where a figure does not apply (agreement and KL against a reference with another
// tokenizer, or with no reference). It does not compute anything.
import { basename, dirname } from 'node:path';
import type { EvalRow } from './eval-table.js';

/** A short name for a path: a folder or a file with its parent folder (runs/x/model.safetensors -> x/model.safetensors). */
function shortName(path: string): string {
  const base = basename(path.replace(/\/+$/, ''));
  const parent = basename(dirname(path.replace(/\/+$/, '')));
  return parent && parent !== '.' ? `${parent}/${base}` : base;
}

/** 1234567 -> 1.23M, 65432 -> 65.4k. */
export function compactCount(n: number): string {
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [v, s] of units) if (Math.abs(n) >= v) return `${(n / v).toPrecision(3)}${s}`;
  return String(Math.round(n));
}

const DASH = '—';

export const EVAL_TABLE_COLUMNS = ['model', 'data', 'tokens', 'nats/token', 'bits/byte', 'ppl', 'top-1 acc', 'agree', 'KL', 'params', 'bytes', 'FLOPs/token', 'tokens/s'] as const;

export function evalTableCells(r: EvalRow): string[] {
  return [
    shortName(r.model), shortName(r.data), String(r.tokensScored), r.natsPerToken.toFixed(4), r.bitsPerByte.toFixed(4), r.perplexity.toFixed(2),
    `${(100 * r.top1Accuracy).toFixed(1)}%`, r.top1Agreement === null ? DASH : `${(100 * r.top1Agreement).toFixed(1)}%`,
    r.klToReference === null ? DASH : r.klToReference.toFixed(4), compactCount(r.params), compactCount(r.bytesOnDisk),
    compactCount(r.flopsPerToken), String(Math.round(r.tokensPerSecond)),
  ];
}

/** The table as lines of text, columns padded (text left, numbers right). */
export function formatEvalTable(rows: readonly EvalRow[]): string[] {
  const cells = [EVAL_TABLE_COLUMNS.slice(), ...rows.map(evalTableCells)];
  const widths = EVAL_TABLE_COLUMNS.map((_, c) => Math.max(...cells.map((r) => [...r[c]].length)));
  const line = (r: string[]) => r.map((s, c) => (c < 2 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ').trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
}
