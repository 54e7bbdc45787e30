// Reads a prompts file for `distill generate-data`: .txt holds one prompt a line (blank lines
// skipped), .jsonl one JSON object a line with a string "prompt" field. Bad JSONL lines are all
// collected and named in one error, or counted and skipped when asked. It tokenizes nothing.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { DataError } from './errors.js';

export interface PromptsFile {
  prompts: string[];
  /** 1-based line numbers of the bad lines left out (only with skipBad). */
  skippedLines: number[];
}

/** Why line `text` is not a prompt record, or null when it is one (then `out` gets the prompt). */
function badReason(text: string, out: string[]): string | null {
  let rec: unknown;
  try {
    rec = JSON.parse(text);
  } catch (e) {
    return `not valid JSON (${(e as Error).message})`;
  }
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) return 'not a JSON object';
  const v = (rec as Record<string, unknown>).prompt;
  if (typeof v !== 'string') return v === undefined ? 'no "prompt" field' : `"prompt" is a ${typeof v}, expected a string`;
  if (v.length === 0) return '"prompt" is empty';
  out.push(v);
  return null;
}

/**
 * The prompts of `path` in file order. `.jsonl` / `.ndjson`: {"prompt": "..."} a line (other
 * fields ignored); anything else: one prompt a line, trimmed, blank lines skipped. Throws a
 * DataError naming every bad line (up to 20, then a count) unless skipBad.
 */
export function readPrompts(path: string, opts: { skipBad?: boolean } = {}): PromptsFile {
  if (!existsSync(path)) throw new DataError(path, 'no such prompts file; expected a .txt (one prompt a line) or .jsonl ({"prompt": ...} a line)');
  if (statSync(path).isDirectory()) throw new DataError(path, 'is a folder; expected a .txt or .jsonl prompts file');
  const lines = readFileSync(path, 'utf8').replace(/\r\n/g, '\n').split('\n');
  const ext = extname(path).toLowerCase();
  const prompts: string[] = [];
  if (ext !== '.jsonl' && ext !== '.ndjson') {
    for (const l of lines) if (l.trim().length > 0) prompts.push(l.trim());
    if (prompts.length === 0) throw new DataError(path, 'holds no prompt (every line is blank)');
    return { prompts, skippedLines: [] };
  }
  const bad: { line: number; why: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim().length === 0) continue;
    const why = badReason(lines[i], prompts);
    if (why !== null) bad.push({ line: i + 1, why });
  }
  if (bad.length > 0 && !opts.skipBad) {
    const shown = bad.slice(0, 20).map((b) => `line ${b.line}: ${b.why}`).join('; ');
    const more = bad.length > 20 ? `; and ${bad.length - 20} more` : '';
    throw new DataError(path, `${bad.length} bad line(s), each must be a JSON object with a string "prompt" field: ${shown}${more}. Fix them, or pass --skip-bad to leave them out`);
  }
  if (prompts.length === 0) throw new DataError(path, `holds no usable prompt${bad.length > 0 ? ` (${bad.length} bad line(s) skipped)` : ''}`);
  return { prompts, skippedLines: bad.map((b) => b.line) };
}
