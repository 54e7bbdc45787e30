// The tables of docs/shrink.md from the runs bench/shrink.sh made (runs/shrink/<recipe>-s<seed>):
// val bits per byte at each evaluation (mean ± sd over seeds 1-3, equal tokens per teacher), and
// the tokens each init needs to reach the random-init student's final val loss (paired by seed,
// linear between evaluations). Bits/byte: the val loss times the scored targets' tokens over the
// UTF-8 bytes of text they spell (the same 64 windows of 128 every eval scores), over ln 2.
// Usage: npm run build && node bench/shrink-table.mjs [runs/shrink [runs/shrink-early]]
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer } from '../dist/src/data/index.js';
import { corpusSplitWithBytes } from '../dist/src/eval/perplexity.js';

const root = process.argv[2] ?? 'runs/shrink';
const earlyRoot = process.argv[3] ?? 'runs/shrink-early';
const corpus = '../shared/data/tinystories/stories.txt';
const TEACHERS = {
  stories260k: { tok: '../shared/data/stories260K/tok512.bin', label: 'stories260K (260,032 params)', methods: { depth: 'depth: layers [0, 4]', width: 'width: 6 heads / 3 KV, FFN 96', lowrank: 'low rank 16' } },
  tinystories656k: { tok: '../shared/data/tinystories-656k/tokenizer.json', label: 'TinyStories-656K (656,000 params)', methods: { depth: 'depth + width: layer [0], 6 heads, FFN 300', width: 'width: ≤ 328,000 params (4 heads, FFN 384)', lowrank: 'low rank 12' } },
};
const ARMS = { random: 'random init + KD', shrink: 'shrunk + KD', 'shrink-hidden': 'shrunk + KD + hidden cosine' };
const SEEDS = [1, 2, 3], T = 128, W = 64, STEP_TOKENS = 8 * 128;

function tokensPerByte(tokPath) {
  const { tokens, tokenBytes } = corpusSplitWithBytes(corpus, loadTokenizer(tokPath), 'val');
  const n = Math.min(W, Math.floor((tokens.length - 1) / T)) * T;
  let bytes = 0;
  for (let j = 1; j <= n; j++) bytes += tokenBytes[j];
  return n / bytes;
}

/** step -> val loss of a run folder's metrics.jsonl, or null without one. */
function valPoints(dir) {
  const f = join(dir, 'metrics.jsonl');
  if (!existsSync(f)) return null;
  const pts = new Map();
  for (const line of readFileSync(f, 'utf8').trim().split('\n')) {
    const m = JSON.parse(line);
    if ('val/loss' in m) pts.set(m.step, m['val/loss']);
  }
  return pts;
}

/** A run's evaluations; `early` adds bench/shrink-early.mjs's (steps 5..20 of the same training). */
function curve(run) {
  const pts = valPoints(join(root, run));
  if (!pts || !existsSync(join(root, run, 'eval.json'))) return null;
  const params = JSON.parse(readFileSync(join(root, run, 'eval.json'), 'utf8')).student.params;
  const main = [...pts].sort((a, b) => a[0] - b[0]);
  const early = valPoints(join(earlyRoot, run));
  if (early && early.has(25)) {
    // the same training: its step-25 loss must be the full run's
    if (Math.abs(early.get(25) - pts.get(25)) > 1e-9) throw new Error(`${run}: step 25 val loss ${early.get(25)} in ${earlyRoot} but ${pts.get(25)} in ${root}; not the same training`);
    return { pts: main, fine: [...[...early].filter(([s]) => s < 25), ...main].sort((a, b) => a[0] - b[0]), params };
  }
  return { pts: main, fine: main, params };
}

/** Steps (fractional, linear between evaluations) at which a curve first reaches `target`; null if never. */
function reach(pts, target) {
  let prev = null;
  for (const [s, l] of pts) {
    if (l <= target) return prev === null ? s : prev[0] + (s - prev[0]) * (prev[1] - target) / (prev[1] - l);
    prev = [s, l];
  }
  return null;
}

const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const sd = (a) => Math.sqrt(a.reduce((x, y) => x + (y - mean(a)) ** 2, 0) / (a.length - 1));
const fmt = (a, d = 3) => `${mean(a).toFixed(d)} ± ${sd(a).toFixed(d)}`;

for (const [teacher, t] of Object.entries(TEACHERS)) {
  const tpb = tokensPerByte(t.tok);
  const bpb = (l) => l * tpb / Math.LN2;
  console.log(`\n### ${t.label}: val bits per byte (mean ± sd, seeds 1-3)\n`);
  let header = null;
  const reachRows = [];
  for (const [method, mlabel] of Object.entries(t.methods)) {
    const curves = {};
    for (const arm of Object.keys(ARMS)) curves[arm] = SEEDS.map((s) => curve(`${teacher}-${method}-${arm}-s${s}`));
    for (const [arm, alabel] of Object.entries(ARMS)) {
      const cs = curves[arm];
      if (cs.some((c) => c === null)) { console.log(`| ${mlabel} | ${alabel} | (runs missing) |`); continue; }
      const steps = cs[0].pts.map(([s]) => s);
      if (!header) {
        header = steps;
        console.log(`| student | init | params | ${steps.map((s) => `${(s * STEP_TOKENS / 1000).toFixed(1)}K tok`).join(' | ')} |`);
        console.log(`|---|---|---:|${steps.map(() => '---:').join('|')}|`);
      }
      console.log(`| ${mlabel} | ${alabel} | ${cs[0].params.toLocaleString('en-US')} | ${steps.map((_, i) => fmt(cs.map((c) => bpb(c.pts[i][1])))).join(' | ')} |`);
      if (arm !== 'random' && curves.random.every((c) => c !== null)) {
        const per = SEEDS.map((_, k) => {
          const r = curves.random[k].pts, target = r[r.length - 1][1];
          return { final: r[r.length - 1][0], at: reach(cs[k].fine, target), first: cs[k].fine[0][0] };
        });
        reachRows.push({ mlabel, alabel, per });
      }
    }
  }
  console.log('\nThe hidden loss, paired by seed: final val bits/byte of shrunk + KD + hidden minus shrunk + KD (negative: the hidden loss helped):\n');
  console.log('| student | seed 1 | seed 2 | seed 3 | mean |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [method, mlabel] of Object.entries(t.methods)) {
    const fin = (arm) => SEEDS.map((s) => curve(`${teacher}-${method}-${arm}-s${s}`)).map((c) => (c ? bpb(c.pts.at(-1)[1]) : NaN));
    const d = fin('shrink-hidden').map((v, i) => v - fin('shrink')[i]);
    console.log(`| ${mlabel} | ${d.map((v) => (v > 0 ? '+' : '') + v.toFixed(4)).join(' | ')} | ${(mean(d) > 0 ? '+' : '') + mean(d).toFixed(4)} |`);
  }
  console.log(`\nTokens to reach the random-init student's final val loss (same seed; its budget: ${(header.at(-1) * STEP_TOKENS).toLocaleString('en-US')} tokens):\n`);
  console.log('| student | init | seed 1 | seed 2 | seed 3 | tokens saved (mean) |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const { mlabel, alabel, per } of reachRows) {
    const cell = (p) => (p.at === null ? 'not reached' : `${Math.round(p.at * STEP_TOKENS).toLocaleString('en-US')}${p.at <= p.first ? ' (≤ first eval)' : ''}`);
    const atLeast = per.some((p) => p.at !== null && p.at <= p.first) ? '≥ ' : ''; // reached by the first evaluation: the true figure is larger
    const saved = per.every((p) => p.at !== null) ? `${atLeast}${Math.round(mean(per.map((p) => (p.final - p.at) * STEP_TOKENS))).toLocaleString('en-US')} (${atLeast}${mean(per.map((p) => p.final / p.at)).toFixed(1)}× fewer)` : '—';
    console.log(`| ${mlabel} | ${alabel} | ${per.map(cell).join(' | ')} | ${saved} |`);
  }
}
