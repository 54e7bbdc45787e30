// metrics.jsonl: one JSON object per logged step, {"step":N,"wall_time":S,"<name>":value,...}.
// Appends (a resumed run keeps one file); non-finite values are written as the strings "NaN",
// "Infinity", "-Infinity" because JSON has no literal for them. It does not read the file back;
// src/report/run-files.ts does.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';

/** JSON value for a scalar: the number, or a string naming the non-finite value. */
export function jsonScalar(v: number): number | string {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/** Inverse of jsonScalar; returns undefined for anything that is not a number or those strings. */
export function parseJsonScalar(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return undefined;
}

/**
 * Cuts a JSON-lines log ({"step": N, ...} per line: metrics.jsonl, samples.jsonl) back to the lines
 * of steps ≤ `step`, dropping a torn last line: what a run resumed from the checkpoint of `step`
 * does before it appends, so that its logs equal an uninterrupted run's. Rewrites by tmp + rename.
 * Returns the number of lines dropped (0 when the file is absent).
 */
export function truncateJsonLines(path: string, step: number): number {
  if (!existsSync(path)) return 0;
  const lines = readFileSync(path, 'utf8').split('\n');
  const torn = lines.pop() !== '' ? 1 : 0; // text after the last newline is a torn write
  const kept = lines.filter((l) => {
    try {
      const s = (JSON.parse(l) as { step?: unknown }).step;
      return typeof s === 'number' && s <= step;
    } catch {
      return false;
    }
  });
  const dropped = lines.length - kept.length + torn;
  if (dropped === 0) return 0;
  writeFileAtomic(path, kept.map((l) => l + '\n').join(''));
  return dropped;
}

export class MetricsLog {
  readonly path: string;
  private fd: number;

  /** Opens `path` for appending (creating its folder). */
  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.path = path;
    this.fd = openSync(path, 'a');
  }

  /** Appends one line. `step` and `wall_time` are reserved names and may not appear in `scalars`. */
  write(step: number, scalars: Record<string, number>, wallTime = Date.now() / 1000): void {
    if (this.fd < 0) throw new Error(`${this.path}: write after close()`);
    const line: Record<string, number | string> = { step, wall_time: wallTime };
    for (const [k, v] of Object.entries(scalars)) {
      if (k === 'step' || k === 'wall_time') throw new RangeError(`${this.path}: scalar name '${k}' is reserved in metrics.jsonl; rename it`);
      if (typeof v !== 'number') throw new TypeError(`${this.path}: scalar '${k}' must be a number, got ${typeof v}`);
      line[k] = jsonScalar(v);
    }
    writeSync(this.fd, JSON.stringify(line) + '\n');
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
