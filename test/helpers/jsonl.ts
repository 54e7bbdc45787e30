// Writes a JSONL file of rows (one JSON object a line) for the tests that train on pairs or chats.
// It checks nothing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** dir/name holding `rows`, one JSON.stringify a line; returns the path. */
export function writeJsonl(dir: string, name: string, rows: readonly object[]): string {
  const p = join(dir, name);
  writeFileSync(p, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return p;
}
