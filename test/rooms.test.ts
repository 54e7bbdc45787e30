// The room table of shared/DESIGN.md ("Rooms": which folder under src/ may import which) is what
// the code does: every relative import of every non-test file under src/ is checked against the
// table below, which states the rule as the closing note of issue 11 proposes it. A new import
// across rooms fails here until the table (and DESIGN.md) says it may.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..'); // dist/test -> repo root
const src = join(root, 'src');

/** room -> the rooms it may import (its own always). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  engine: [],
  model: ['engine'],
  distill: ['engine'],
  data: ['engine', 'io'], // io: the protobuf wire reader a SentencePiece .model needs
  io: ['engine', 'model'], // model: configs and the layout table, for the checkpoint adapters
  teacher: ['model', 'io', 'engine', 'data', 'store', 'distill'], // store: its source and the cache job; distill: the cache job's truncation
  store: ['engine', 'io'], // io: crc32c
  eval: ['model', 'data', 'teacher', 'engine', 'io'], // io: load-pair loads a checkpoint
  train: ['engine', 'model', 'distill', 'data', 'teacher', 'store', 'eval', 'io', 'monitor', 'recipe'],
  monitor: ['io', 'engine'],
  report: ['io', 'engine', 'monitor'],
  recipe: ['engine', 'distill', 'teacher'], // the tables and types it configures
  serve: ['model', 'data', 'engine'], // the model it serves, the tokenizer, backend types
  sweep: ['engine', 'recipe', 'monitor', 'report', 'io'], // sweeps, scaling fit, tune: recipes run as `distill run` processes; plots, rng, atomic writes
  cli: ['engine', 'model', 'distill', 'data', 'teacher', 'store', 'eval', 'io', 'monitor', 'report', 'recipe', 'train', 'serve', 'sweep'],
};

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

test('every import across rooms under src/ is one the room table allows', () => {
  const files = sources(src);
  assert.ok(files.length > 100, `${files.length} source files under src/`);
  const rooms = new Set(files.map((f) => relative(src, f).split(sep)[0]));
  for (const r of rooms) assert.ok(r in MAY_IMPORT, `src/${r}/ is not in the room table`);
  const bad: string[] = [];
  for (const f of files) {
    const from = relative(src, f).split(sep)[0];
    for (const m of readFileSync(f, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)) {
      const target = relative(src, resolve(dirname(f), m[1]));
      const to = target.split(sep)[0];
      if (target.startsWith('..')) bad.push(`${relative(root, f)} imports ${m[1]}, outside src/`);
      else if (to !== from && !MAY_IMPORT[from].includes(to)) bad.push(`${relative(root, f)} (${from}/) imports ${to}/ (${m[1]})`);
    }
  }
  assert.deepEqual(bad, [], `imports the room table does not allow:\n  ${bad.join('\n  ')}`);
});
