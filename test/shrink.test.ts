// Students made from the teacher (src/model/shrink*.ts, `distill shrink`, student kind
// from-teacher) on the real stories260K: depth copies the chosen blocks; width pruning of FFN
// channels equals the teacher with those channels' outputs zeroed, a full-width prune is the
// teacher bit for bit, heads are cut by whole KV groups; SVD matches numpy and truncation obeys
// Eckart–Young; factored students export dense; every bad target is refused naming its key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../src/engine/select.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import {
  type Model, createActivations, createModel, denseModel, forward, param, paramView, shrinkModel, svd,
} from '../src/model/index.js';
import { measureImportance } from '../src/model/shrink-importance.js';
import { pruneWidth, resolveWidth } from '../src/model/shrink-width.js';
import { factorModel, resolveRanks } from '../src/model/shrink-lowrank.js';
import { assertClose } from './helpers/fixtures.js';

const data = join('..', 'shared', 'data');
const ck = loadCheckpoint(join(data, 'stories260K', 'stories260K.bin'));
const teacher = (): Model => createModel(ck.config, ck.params.slice());
const be = selectBackend('ref');
// Calibration: 4 windows of 32 real TinyStories token ids (the tokenizer is not needed: any ids in range).
const T = 32;
const tokens = Int32Array.from({ length: 4 * T }, (_, i) => (i * 37 + 11) % 512);

function logits(m: Model): Float32Array {
  const acts = createActivations(m.config, 2, T, { training: false, allLogits: true });
  return forward(be, m, acts, tokens.subarray(0, 2 * T), 2, T).slice();
}

test('depth: every other block by default, the chosen blocks copied; bad lists name student.layers', () => {
  const t = teacher();
  const r = shrinkModel(be, t, {}, null, 'student');
  assert.deepEqual(r.layers, [0, 2, 4]);
  assert.deepEqual(param(r.model, 'layers.1.w2'), param(t, 'layers.2.w2'));
  assert.deepEqual(param(r.model, 'tok_embeddings'), param(t, 'tok_embeddings'));
  assert.equal(shrinkModel(be, t, { layers: 'all' }, null, 'student').model.layout.total, t.layout.total);
  assert.throws(() => shrinkModel(be, t, { layers: [0, 5] }, null, 'student'), /key 'student\.layers': layer 5 does not exist; the teacher has layers 0\.\.4/);
  assert.throws(() => shrinkModel(be, t, { layers: [1, 1] }, null, 'student'), /key 'student\.layers': layer 1 is listed twice/);
});

test('width: a full-width prune is the teacher; pruning FFN channels = zeroing their outputs', () => {
  const t = teacher();
  const imp = measureImportance(be, t, tokens, T, 2);
  assert.equal(imp.tokens, 4 * T);
  assert.deepEqual(imp.kvGroups[3], [0, 1, 2, 3].map((g) => imp.heads[3][2 * g] + imp.heads[3][2 * g + 1]));
  const full = pruneWidth(t, imp, { nHeads: 8, nKvHeads: 4, hiddenDim: 172 }).model;
  assert.deepEqual(full.params, t.params);
  const { model, kept } = pruneWidth(t, imp, { nHeads: 8, nKvHeads: 4, hiddenDim: 100 });
  assert.equal(model.config.hiddenDim, 100);
  const zeroed = teacher();
  for (let l = 0; l < 5; l++) {
    const keep = new Set(kept.ffn[l]);
    const w2 = paramView(zeroed.layout, zeroed.params, `layers.${l}.w2`);
    for (let c = 0; c < 64; c++) for (let j = 0; j < 172; j++) if (!keep.has(j)) w2[c * 172 + j] = 0;
    // the kept channels are the most important ones
    const cut = Math.max(...[...Array(172).keys()].filter((j) => !keep.has(j)).map((j) => imp.ffn[l][j]));
    assert.ok(kept.ffn[l].every((j) => imp.ffn[l][j] >= cut));
  }
  assertClose(logits(model), logits(zeroed), { atol: 2e-5, rtol: 1e-5 }, 'FFN-pruned logits');
});

test('width: heads go by whole KV groups, width follows the heads; a parameter target fits; bad targets name the key', () => {
  const t = teacher();
  const imp = measureImportance(be, t, tokens, T, 2);
  const { model, kept } = pruneWidth(t, imp, resolveWidth(t.config, { heads: 6, hiddenDim: 96 }, 'student.width'));
  assert.deepEqual([model.config.dim, model.config.nHeads, model.config.nKvHeads, model.config.hiddenDim], [48, 6, 3, 96]);
  assert.equal(model.layout.total, 128784); // as `distill shrink --heads 6 --hidden-dim 96` prints
  for (let l = 0; l < 5; l++) {
    assert.deepEqual(kept.heads[l], kept.kvGroups[l].flatMap((g) => [2 * g, 2 * g + 1])); // group of 2 kept whole
    // student head 0's q rows are the teacher's kept head's rows over the kept channels
    const h = kept.heads[l][0], c = kept.channels[5];
    assert.equal(param(model, `layers.${l}.wq`)[3 * 48 + 5], param(t, `layers.${l}.wq`)[(h * 8 + 3) * 64 + c]);
  }
  const s = resolveWidth(t.config, { params: 130000 }, 'student.width');
  assert.ok(pruneWidth(t, imp, s).model.layout.total <= 130000);
  const bad: [object, RegExp][] = [
    [{ heads: 9 }, /key 'student\.width\.heads': 9 heads is more than the teacher's 8/],
    [{ hiddenDim: 173 }, /key 'student\.width\.hiddenDim': 173 FFN channels is more than the teacher's 172/],
    [{ dim: 44 }, /key 'student\.width\.dim': 44 is not a multiple of the head size 8/],
    [{ heads: 5 }, /key 'student\.width\.heads': 5 heads cannot be grouped like the teacher's/],
    [{ heads: 4, kvHeads: 1 }, /key 'student\.width\.kvHeads': 1 KV groups of 4 heads, but the teacher's groups hold 2/],
    [{ params: 260032 }, /key 'student\.width\.params': 260032 is not below the teacher's 260032 parameters/],
  ];
  for (const [target, re] of bad) assert.throws(() => resolveWidth(t.config, target, 'student.width'), re);
});

test('low rank: SVD = numpy on stories260K, truncation error = the dropped singular values, factored = dense on export', () => {
  const t = teacher();
  // numpy.linalg.svd values: /usr/bin/python3 scripts/ref-svd-stories260k.py
  const q = svd(param(t, 'layers.0.wq'), 64, 64);
  assertClose(q.s.slice(0, 4), [10.800453725879049, 4.637632869202206, 3.7952509437949162, 3.228414482992128], { atol: 1e-9, rtol: 1e-9 }, 'wq σ');
  assertClose([q.s[63]], [0.004387524972831786], { atol: 1e-9, rtol: 1e-6 }, 'wq σ min');
  const w1 = svd(param(t, 'layers.2.w1'), 172, 64);
  assertClose([w1.s[0], w1.s[3], w1.s[63]], [3.032898319751298, 2.5866465883867966, 0.6252211725243633], { atol: 1e-9, rtol: 1e-9 }, 'w1 σ');
  const { ranks, energyKept } = resolveRanks(t, { rank: 16, matrices: ['wq', 'w1'] }, 'student.lowRank');
  assert.deepEqual(ranks, { wq: 16, w1: 16 });
  const f = factorModel(t, ranks);
  assert.equal(f.layout.total, t.layout.total - 5 * (4096 - 16 * 128) - 5 * (11008 - 16 * 236));
  const d = denseModel(f);
  assert.equal(d.config.lowRank, undefined);
  // Eckart–Young: ‖W − W_r‖_F² = Σ_{i≥r} σᵢ²
  for (const [m, O, I, s] of [['layers.2.w1', 172, 64, w1.s], ['layers.0.wq', 64, 64, q.s]] as const) {
    const a = param(t, m), b = param(d, m);
    let err = 0;
    for (let i = 0; i < O * I; i++) err += (a[i] - b[i]) ** 2;
    const want = s.slice(16).reduce((x, v) => x + v * v, 0);
    assert.ok(Math.abs(err - want) < 1e-4 * want + 1e-6, `${m}: ‖W − W16‖² ${err} vs Σσ² ${want}`);
    assert.ok(energyKept[m.split('.')[2]] <= 1 - want / s.reduce((x, v) => x + v * v, 0) + 1e-9);
  }
  assertClose(logits(f), logits(d), { atol: 1e-4, rtol: 1e-4 }, 'factored vs multiplied-out logits');
  const bad: [object, RegExp][] = [
    [{ rank: 64 }, /key 'student\.lowRank\.rank': 64 is not below the rank of wq \(64×64, rank ≤ 64\)/],
    [{ rank: 32, matrices: ['wk'] }, /key 'student\.lowRank\.rank': 32 is not below the rank of wk \(32×64/],
    [{ energy: 1.5 }, /key 'student\.lowRank\.energy': must lie in \(0, 1\)/],
    [{ rank: 8, energy: 0.5 }, /key 'student\.lowRank': give exactly one of rank or energy/],
    [{ rank: 8, matrices: ['fc_w'] }, /key 'student\.lowRank\.matrices': 'fc_w' is not a block matrix of the llama family/],
  ];
  for (const [target, re] of bad) assert.throws(() => resolveRanks(t, target, 'student.lowRank'), re);
});

test('distill shrink writes a checkpoint, shrink.json and importance.json and prints params and val loss; export multiplies factors out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'distill-shrink-'));
  const cli = join('dist', 'src', 'cli', 'main.js');
  const common = ['--tokenizer', join(data, 'stories260K', 'tok512.bin'), '--data', join(data, 'tinystories', 'stories.txt'), '--seq-len', '64', '--max-windows', '4', '--calib-windows', '4', '--backend', 'native'];
  const run = (...args: string[]) => execFileSync('node', [cli, 'shrink', join(data, 'stories260K', 'stories260K.bin'), ...common, ...args], { encoding: 'utf8' });
  const width = run('--out', join(dir, 'w'), '--heads', '6', '--hidden-dim', '96');
  assert.match(width, /teacher: .*260032 parameters/);
  assert.match(width, /shrunk: .*128784 parameters \(49\.5 %; layers 0,1,2,3,4, dim 48, 6 heads \/ 3 KV, hidden 96\)/);
  assert.match(width, /val loss before training .*teacher \d\.\d{4} nats\/token .*shrunk \d\.\d{4} nats\/token \(\d\.\d{4} bits\/byte\)/);
  const imp = JSON.parse(readFileSync(join(dir, 'w', 'importance.json'), 'utf8')) as { heads: number[][]; ffn: number[][] };
  assert.equal(imp.heads.length, 5);
  assert.equal(imp.ffn[0].length, 172);
  const rec = JSON.parse(readFileSync(join(dir, 'w', 'shrink.json'), 'utf8')) as { params: number; teacherParams: number; valLossAfter: number };
  assert.deepEqual([rec.params, rec.teacherParams], [128784, 260032]);
  const lr = run('--out', join(dir, 'lr'), '--rank', '8');
  assert.match(lr, /ranks \{"wq":8,"wk":8,"wv":8,"wo":8,"w1":8,"w2":8,"w3":8\}/);
  const m = /shrunk (\d+\.\d{4}) nats\/token/.exec(lr)![1];
  execFileSync('node', [cli, 'export', join(dir, 'lr'), '--format', 'gguf', '--out', join(dir, 'lr.gguf'), '--tokenizer', join(data, 'stories260K', 'tok512.bin')]);
  const ev = execFileSync('node', [cli, 'eval', '--model', join(dir, 'lr.gguf'), '--data', join(data, 'tinystories', 'stories.txt'), '--seq-len', '64', '--max-windows', '4', '--backend', 'native'], { encoding: 'utf8' });
  assert.equal(Number(/loss: (\d+\.\d+)/.exec(ev)![1]).toFixed(4), m); // the dense GGUF scores as the factored checkpoint
  assert.throws(() => run('--out', join(dir, 'x'), '--layers', '0,7'), (e: { stderr: string }) => /key 'student\.layers': layer 7 does not exist/.test(e.stderr));
  assert.ok(!existsSync(join(dir, 'x')));
});
