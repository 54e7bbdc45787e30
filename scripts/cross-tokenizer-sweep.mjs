#!/usr/bin/env node
// The table of docs/cross-tokenizer.md: a tok512 student (126K params) trained with CE only, with
// stories260K as a same-tokenizer teacher, and with TinyStories-656K as a cross-tokenizer teacher
// (uld, span, exact-map), seeds 1,2,3, the same steps × batch × seqLen for all (equal student
// tokens); then bits per byte of each final student on the stories.txt val split and on
// tinyshakespeare, by `distill eval`. One run at a time, finished ones skipped (re-run continues).
// Usage: nice -n 10 node scripts/cross-tokenizer-sweep.mjs [--steps 200] [--seeds 1,2,3] [--out runs/xtok] [--cli dist/src/cli/main.js] [--table-only]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const steps = Number(arg('--steps', '200'));
const seeds = arg('--seeds', '1,2,3').split(',').map(Number);
const out = arg('--out', join('runs', 'xtok'));
const tableOnly = process.argv.includes('--table-only');
const cli = arg('--cli', join('dist', 'src', 'cli', 'main.js')); // a frozen copy of dist keeps a long sweep off later builds
const R = (f) => join('recipes', 'tinystories', f);
const data = join('..', 'shared', 'data');
const tok = join(data, 'stories260K', 'tok512.bin');
// batch 16 × 128 tokens: 2,048 student tokens a step, small enough for a shared 2-core machine
const common = [`train.steps=${steps}`, 'train.batchSize=16', 'train.seqLen=128', 'eval.every=0', 'threads=1', 'backend=native', 'monitor.progress=false', `outDir=${out}`];
const CONFIGS = [
  ['ce', R('ce-stories260k.yaml'), []],
  ['kd-260k', R('kd-stories260k.yaml'), []],
  ['xtok-span', R('cross-656k.yaml'), ['loss.crossTokenizer.method=span']],
  ['xtok-uld', R('cross-656k.yaml'), ['loss.crossTokenizer.method=uld']],
  ['xtok-exact-map', R('cross-656k.yaml'), ['loss.crossTokenizer.method=exact-map']],
];
const name = (c, s) => `${c}-s${s}`;
const run = (args) => { console.error(`$ node ${args.join(' ')}`); return execFileSync('node', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }); };
const bitsPerByte = (text) => Number(/per byte: ([0-9.]+) bits\/byte/.exec(text)[1]);

if (!tableOnly) {
  for (const s of seeds) {
    for (const [c, recipe, extra] of CONFIGS) {
      const dir = join(out, name(c, s));
      if (!existsSync(join(dir, 'eval.json'))) run([cli, 'run', recipe, ...common, ...extra, `seed=${s}`, `name=${name(c, s)}`, '--overwrite']);
      if (existsSync(join(dir, 'bpb.json'))) continue;
      const ck = join(dir, 'checkpoints', readdirSync(join(dir, 'checkpoints')).sort().at(-1));
      const ev = (more) => bitsPerByte(run([cli, 'eval', '--model', ck, '--tokenizer', tok, '--seq-len', '128', '--backend', 'native', ...more]));
      const val = ev(['--data', join(data, 'tinystories', 'stories.txt'), '--split', 'val']);
      const shakespeare = ev(['--data', join(data, 'tinyshakespeare', 'input.txt'), '--split', 'all', '--max-windows', '200']);
      writeFileSync(join(dir, 'bpb.json'), JSON.stringify({ val, shakespeare }) + '\n');
    }
  }
}

const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const sd = (a) => a.length > 1 ? Math.sqrt(a.reduce((x, y) => x + (y - mean(a)) ** 2, 0) / (a.length - 1)) : NaN;
const get = (c, s) => { const p = join(out, name(c, s), 'bpb.json'); return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : null; };
console.log(`| student trained with | val bits/byte per seed (${seeds.join(', ')}) | mean ± sd | paired vs CE (mean, per seed) | tinyshakespeare bits/byte per seed | mean ± sd | paired vs CE |`);
console.log('|---|---|---|---|---|---|---|');
for (const [c] of CONFIGS) {
  const cells = [];
  for (const key of ['val', 'shakespeare']) {
    const have = seeds.filter((s) => get(c, s) && get('ce', s));
    const v = have.map((s) => get(c, s)[key]);
    const d = have.map((s) => get(c, s)[key] - get('ce', s)[key]);
    cells.push(v.map((x) => x.toFixed(4)).join(', '), v.length ? `${mean(v).toFixed(4)} ± ${sd(v).toFixed(4)}` : '—',
      c === 'ce' ? '—' : d.length ? `${mean(d) >= 0 ? '+' : ''}${mean(d).toFixed(4)} (${d.map((x) => (x >= 0 ? '+' : '') + x.toFixed(4)).join(', ')})` : '—');
  }
  console.log(`| ${c} | ${cells.join(' | ')} |`);
}
