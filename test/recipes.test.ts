// Every recipe under recipes/ (walked recursively) parses and validates, with its files present;
// the count must be above zero so an emptied or moved folder fails instead of passing vacuously.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadRecipe } from '../src/recipe/load.js';

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

for (const f of files) {
  test(`recipe ${f} validates and opens with the command that runs it`, () => {
    loadRecipe(f);
    const first = readFileSync(f, 'utf8').split('\n')[0];
    assert.equal(first, `# npx distill run ${f}`);
  });
}
