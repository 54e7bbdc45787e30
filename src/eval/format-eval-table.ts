// Text rendering of evaluateTable's rows (eval-table.ts): one aligned table, a row per model ×
// data, "—" where a figure does not apply (agreement and KL against a reference with another
// tokenizer, or with no reference). It does not compute anything.
import type { EvalRow } from './eval-table.js';

/** Short names for paths: the fewest trailing path segments that still tell them apart
 *  (runs/kd/checkpoints/step-000400/model.safetensors beside runs/ce/... -> kd/checkpoints/...). */
export function shortNames(paths: readonly string[]): Map<string, string> {
  const unique = [...new Set(paths)];
  const segs = unique.map((p) => p.replace(/\/+$/, '').split('/').filter((x) => x !== '' && x !== '.' && x !== '..'));
  const suffix = (s: string[], k: number) => s.slice(-k).join('/');
  return new Map(unique.map((p, i) => {
    let k = 1;
    while (k < segs[i].length && segs.some((o, j) => j !== i && suffix(o, k) === suffix(segs[i], k))) k++;
    return [p, suffix(segs[i], k)];
  }));
}

/** 1234567 -> 1.23M, 65432 -> 65.4k. */
export function compactCount(n: number): string {
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [v, s] of units) if (Math.abs(n) >= v) return `${(n / v).toPrecision(3)}${s}`;
  return String(Math.round(n));
}

const DASH = '—';

export const EVAL_TABLE_COLUMNS = ['model', 'data', 'tokens', 'nats/token', 'bits/byte', 'ppl', 'top-1 acc', 'agree', 'KL', 'params', 'bytes', 'FLOPs/token', 'tokens/s'] as const;

export function evalTableCells(r: EvalRow, names: Map<string, string>): string[] {
  return [
    names.get(r.model) ?? r.model, names.get(r.data) ?? r.data, String(r.tokensScored), r.natsPerToken.toFixed(4), r.bitsPerByte.toFixed(4), r.perplexity.toFixed(2),
    `${(100 * r.top1Accuracy).toFixed(1)}%`, r.top1Agreement === null ? DASH : `${(100 * r.top1Agreement).toFixed(1)}%`,
    r.klToReference === null ? DASH : r.klToReference.toFixed(4), compactCount(r.params), compactCount(r.bytesOnDisk),
    compactCount(r.flopsPerToken), String(Math.round(r.tokensPerSecond)),
  ];
}

/** The table as lines of text, columns padded (text left, numbers right). */
export function formatEvalTable(rows: readonly EvalRow[]): string[] {
  const models = shortNames(rows.map((r) => r.model)), data = shortNames(rows.map((r) => r.data));
  const names = new Map([...models, ...data]);
  const cells = [EVAL_TABLE_COLUMNS.slice(), ...rows.map((r) => evalTableCells(r, names))];
  const widths = EVAL_TABLE_COLUMNS.map((_, c) => Math.max(...cells.map((r) => [...r[c]].length)));
  const line = (r: string[]) => r.map((s, c) => (c < 2 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ').trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
}
