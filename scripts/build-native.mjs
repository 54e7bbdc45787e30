// Install step: builds the native engine with node-gyp. If that fails (no compiler, no headers),
// install still succeeds and distill runs on the pure-TypeScript `ref` backend; one line says so.
// DISTILL_SKIP_NATIVE=1 skips the build (used to test the fallback).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const addon = join(process.cwd(), 'build', 'Release', 'distill_native.node');

function warn(reason) {
  rmSync(addon, { force: true });
  console.warn(`distill: native engine not built (${reason}); using the pure-TypeScript 'ref' backend (slow).`);
}

if (process.env.DISTILL_SKIP_NATIVE === '1') {
  warn('DISTILL_SKIP_NATIVE=1');
  process.exit(0);
}

// node-gyp ships inside npm; find its CLI next to the npm that runs us, else on PATH.
let gyp = null;
const candidates = [];
if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
for (const c of candidates) if (existsSync(c)) { gyp = c; break; }
try { if (!gyp) gyp = require.resolve('node-gyp/bin/node-gyp.js'); } catch { /* not installed locally */ }
if (!gyp) { warn('node-gyp not found'); process.exit(0); }

// A missing compiler is the common failure: say so plainly instead of make's error.
const cxx = process.env.CXX || 'g++';
const probe = spawnSync(cxx, ['--version'], { stdio: 'ignore' });
if (probe.status !== 0) { warn(`no working C++ compiler: '${cxx} --version' failed`); process.exit(0); }

const args = [gyp, 'rebuild', '--release', `--jobs=${Math.max(1, (await import('node:os')).cpus().length)}`];
// Build against the Node headers installed with this Node when present (no download).
const headers = join(dirname(process.execPath), '..', 'include', 'node', 'node_api.h');
if (existsSync(headers)) args.push(`--nodedir=${join(dirname(process.execPath), '..')}`);
const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status !== 0 || !existsSync(addon)) {
  const tail = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').filter((l) => /error|not found|No such/i.test(l)).slice(-1)[0] ?? `exit ${r.status}`;
  warn(tail.trim().slice(0, 200));
  process.exit(0);
}
console.log('distill: native engine built (build/Release/distill_native.node)');
