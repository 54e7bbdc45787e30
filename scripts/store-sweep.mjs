#!/usr/bin/env node
// The k table of docs/offline-store-results.md: for k in {1, 8, 32, 128} at top-p 0.95 (q6),
// cache a stories260K store (once; resumable) and train the store recipe for seeds 1,2,3, one run
// at a time. Finished runs (runs/<name>/eval.json) are skipped, so re-running continues. At the
// end it prints the table (bytes/token, mean ± sd val loss). It runs no online/CE baselines.
// Usage: nice -n 10 node scripts/store-sweep.mjs [--ks 32,8,128,1] [--seeds 1,2,3] [--threads 1] [--table-only] [--baseline-runs runs]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const ks = arg('--ks', '32,8,128,1').split(',').map(Number);
const seeds = arg('--seeds', '1,2,3').split(',').map(Number);
const tableOnly = process.argv.includes('--table-only');
const threads = Number(arg('--threads', '1'));
const cli = join('dist', 'src', 'cli', 'main.js');
const recipe = join('recipes', 'tinystories', 'store-stories260k.yaml');
const storeDir = (k) => join('stores', `stories260k-k${k}-p095`);
const runName = (k, s) => `tinystories-store-k${k}-s${s}`;

// backend=native, never 'auto': auto silently falls back to the slow ref backend while someone
// rebuilds the addon (it happened: a run took 8 min per 20 steps and gave ref numerics).
// A run that finds no addon fails; wait for the build and try again.
function run(args, tries = 40) {
  for (let t = 1; ; t++) {
    while (!existsSync(join('build', 'Release', 'distill_native.node'))) { console.error('waiting for the native addon build...'); sleepSync(15); }
    console.error(`$ node ${args.join(' ')}`);
    try { execFileSync('node', args, { stdio: 'inherit' }); return; } catch (e) {
      if (t >= tries) throw e;
      console.error(`failed (try ${t}); retrying in 15 s`);
      sleepSync(15);
    }
  }
}
function sleepSync(seconds) { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000); }

// Order: the first k (the target, 32 by default) for every seed, then the other k seed by seed,
// so that a sweep cut short still leaves the most useful partial table.
const order = [...seeds.map((s) => [ks[0], s]), ...seeds.flatMap((s) => ks.slice(1).map((k) => [k, s]))];
if (!tableOnly) {
  const cached = new Set();
  for (const [k, s] of order) {
    if (!cached.has(k)) {
      run([cli, 'cache', '--recipe', join('recipes', 'tinystories', 'kd-stories260k.yaml'), '--out', storeDir(k), '--k', String(k), '--top-p', '0.95', '--encoding', 'q6', '--backend', 'native', '--no-progress']);
      cached.add(k);
    }
    if (existsSync(join('runs', runName(k, s), 'eval.json'))) { console.error(`skip ${runName(k, s)} (done)`); continue; }
    // eval.every=0: only the final evaluation (the one the table reads); intermediate evals do
    // not touch training (no RNG draws), they only cost time on a shared machine
    // threads=1: on a shared 2-core machine at nice 10, a 2-thread pool spends its slice waiting
    // for its descheduled partner (measured: < 10 steps in 5 min vs ~2.3 s/step with one thread)
    run([cli, 'run', recipe, `teacher.path=${storeDir(k)}`, `name=${runName(k, s)}`, `seed=${s}`, 'eval.every=0', `threads=${threads}`, 'backend=native', 'monitor.progress=false', '--overwrite']);
  }
}

const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const sd = (a) => a.length > 1 ? Math.sqrt(a.reduce((x, y) => x + (y - mean(a)) ** 2, 0) / (a.length - 1)) : NaN;
const baselineRuns = arg('--baseline-runs', 'runs'); // where the online-KD / CE runs live
const valBySeed = (name, root = 'runs') => new Map(seeds.filter((s) => existsSync(join(root, `${name}-s${s}`, 'eval.json')))
  .map((s) => [s, JSON.parse(readFileSync(join(root, `${name}-s${s}`, 'eval.json'), 'utf8')).student.valLoss]));
const valLosses = (name, root = 'runs') => [...valBySeed(name, root).values()];
const onlineBySeed = valBySeed('tinystories-kd', baselineRuns);
/** Per seed present in both: (store − online) / online, in %. */
const paired = (name) => [...valBySeed(name)].filter(([s]) => onlineBySeed.has(s))
  .map(([s, l]) => `s${s} ${((l / onlineBySeed.get(s) - 1) * 100).toFixed(2)} %`).join(', ') || '—';
const fmt = (l) => l.length ? `${mean(l).toFixed(4)} ± ${l.length > 1 ? sd(l).toFixed(4) : '—'} (n=${l.length})` : '—';
// the online-KD and CE-only twins, as `distill run <recipe> --seeds 1,2,3` names them
const online = [...onlineBySeed.values()], ce = valLosses('tinystories-ce', baselineRuns);
const gap = (l) => (l.length && online.length ? `${((mean(l) / mean(online) - 1) * 100).toFixed(2)} %` : '—');
console.log('| teacher | bytes/token (on disk) | bytes/record | val loss per seed | mean ± sd | mean vs online KD mean | paired by seed vs online KD |');
console.log('|---|---|---|---|---|---|---|');
// rows: the q6 stores of the sweep, plus lossless f32 twins where someone made them
// (stores/stories260k-k<k>-p095-f32, runs tinystories-store-k<k>f32-s<seed>)
const rows = ks.flatMap((k) => [[k, storeDir(k), `tinystories-store-k${k}`, 'q6'], [k, `${storeDir(k)}-f32`, `tinystories-store-k${k}f32`, 'f32']]);
for (const [k, dir, name, enc] of rows) {
  if (!existsSync(join(dir, 'store.json'))) continue;
  const m = JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8'));
  const positions = m.splits.reduce((a, s) => a + s.length, 0);
  const bytes = readdirSync(dir).filter((f) => f === 'store.json' || f.endsWith('.dkd')).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
  const shard0 = readFileSync(join(dir, m.shards[0].file));
  const recordBytes = JSON.parse(shard0.subarray(16, 16 + shard0.readUInt32LE(12)).toString('utf8')).recordBytes;
  const l = valLosses(name);
  console.log(`| store k=${k}, p=0.95, ${enc} | ${(bytes / positions).toFixed(2)} | ${recordBytes} | ${l.map((x) => x.toFixed(4)).join(', ')} | ${fmt(l)} | ${gap(l)} | ${paired(name)} |`);
}
console.log(`| online KD (kd-stories260k) | — | — | ${online.map((x) => x.toFixed(4)).join(', ')} | ${fmt(online)} | 0 | — |`);
console.log(`| CE only (ce-stories260k) | — | — | ${ce.map((x) => x.toFixed(4)).join(', ')} | ${fmt(ce)} | ${gap(ce)} | ${[...valBySeed('tinystories-ce', baselineRuns)].filter(([s]) => onlineBySeed.has(s)).map(([s, l]) => `s${s} ${((l / onlineBySeed.get(s) - 1) * 100).toFixed(2)} %`).join(', ') || '—'} |`);
if (online.length > 1) console.log(`\nonline KD seed spread (sd / mean): ${((sd(online) / mean(online)) * 100).toFixed(2)} %`);
