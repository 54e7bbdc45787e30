// An append-only JSONL file that a killed writer can resume: openJsonlForAppend counts the
// complete (newline-terminated) rows already there and cuts off a torn last line, so the next
// row appended is whole. It knows nothing of what the rows mean.
import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs';
import { FormatError } from './errors.js';

export interface JsonlAppender {
  path: string;
  /** The complete rows present when the file was opened, parsed, in order. */
  existing: unknown[];
  /** Bytes of a torn last line that were cut off (0 when the file ended cleanly). */
  droppedBytes: number;
  /** Appends one row (JSON.stringify + '\n'). */
  append(row: unknown): void;
}

/** Opens (or starts) `path`; every complete line must be JSON, else a FormatError names the line. */
export function openJsonlForAppend(path: string): JsonlAppender {
  const existing: unknown[] = [];
  let droppedBytes = 0;
  if (existsSync(path)) {
    const buf = readFileSync(path);
    const end = buf.lastIndexOf(0x0a) + 1; // bytes up to and with the last newline
    droppedBytes = buf.length - end;
    if (droppedBytes > 0) truncateSync(path, end);
    const lines = buf.subarray(0, end).toString('utf8').split('\n');
    lines.pop(); // the '' after the last newline
    lines.forEach((l, i) => {
      try {
        existing.push(JSON.parse(l));
      } catch (e) {
        throw new FormatError(path, `line ${i + 1} is not JSON (${(e as Error).message}); this file was not written by a resumable run: move it away or pass another output path`);
      }
    });
  }
  return {
    path, existing, droppedBytes,
    append(row: unknown): void { appendFileSync(path, `${JSON.stringify(row)}\n`); },
  };
}
