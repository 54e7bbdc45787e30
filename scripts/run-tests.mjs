// Runs every compiled test file (dist/**/*.test.js) with Node's test runner. Node 20's
// `node --test DIR` also runs non-test modules in DIR, and it has no glob support, so we list them.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { if (name !== 'fixtures') find(p, out); }
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = find('dist', []).sort();
if (files.length === 0) {
  console.error('run-tests: no dist/**/*.test.js found — did tsc run?');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', ...process.argv.slice(2), ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
