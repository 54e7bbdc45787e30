// Every recipe under recipes/ (walked recursively) parses and validates, with its files present;
// the count must be above zero so an emptied or moved folder fails instead of passing vacuously.
// Sweep files (*.sweep.yaml) are checked the same way: they load and every cell's recipe validates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadRecipe } from '../src/recipe/load.js';
import { expandSweep, loadSweep } from '../src/sweep/spec.js';

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

const files = walk('recipes');

test('recipes/ holds recipes', () => {
  assert.ok(files.length > 0, 'no recipe found under recipes/');
});

for (const f of files.filter((x) => x.endsWith('.sweep.yaml'))) {
  test(`sweep ${f} expands into valid recipes and opens with the command that runs it`, () => {
    assert.ok(expandSweep(loadSweep(f), f).length > 0);
    assert.match(readFileSync(f, 'utf8').split('\n')[0], new RegExp(`^# npx distill sweep ${f}( |$)`));
  });
}

for (const f of files.filter((x) => !x.endsWith('.sweep.yaml'))) {
  test(`recipe ${f} validates and opens with the command that runs it`, () => {
    loadRecipe(f);
    const first = readFileSync(f, 'utf8').split('\n')[0];
    assert.equal(first, `# npx distill run ${f}`);
  });
}
