// Training on prompt/response pairs (data.format: pairs): the pair files are tokenized with the
// prompt boundary where the text puts it, the batcher scores response targets only, the micro-step
// loss (CE and soft-label KD, fused head loss) is the mean of the full per-position losses over
// exactly those positions, and a short run on stories260K's own generated answers trains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer, splitParagraphs, splitWindows } from '../src/data/index.js';
import { PairBatcher } from '../src/data/pair-batcher.js';
import { loadPairCorpus } from '../src/data/pairs.js';
import { createDistillLossScratch, distillLossForwardBackward } from '../src/distill/index.js';
import { selectBackend } from '../src/engine/select.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { createActivations, createModel, forward } from '../src/model/index.js';
import { generateData } from '../src/teacher/generate-data-job.js';
import { ModelTeacher } from '../src/teacher/model-teacher.js';
import { MicroStep } from '../src/train/micro-step.js';
import { createStudent } from '../src/train/student-init.js';
import { writeJsonl } from './helpers/jsonl.js';
import { runRecipeFile } from './helpers/run-recipe.js';

const data = join('..', 'shared', 'data');
const TOK = join(data, 'stories260K', 'tok512.bin');
const TEACHER = join(data, 'stories260K', 'stories260K.bin');
const dir = mkdtempSync(join(tmpdir(), 'distill-pairs-'));

// A fixture of a few pairs, written here: prompts are story openings, responses continue them.
const FIXTURE = [
  { prompt: 'Once upon a time', response: ', there was a little girl named Lily.' },
  { prompt: 'Tom had a red ball.', response: ' He liked to throw it to his dog. The dog ran fast.' },
  { prompt: 'The sun was hot.', response: ' Sue went to the park and played in the sand with her friend Ben.' },
];

const writePairs = (name: string, rows: object[]): string => writeJsonl(dir, name, rows);

test('pairs are tokenized as one text; the prompt part is where the prompt\'s own encoding ends', () => {
  const tok = loadTokenizer(TOK);
  const c = loadPairCorpus(writePairs('fixture.jsonl', FIXTURE), tok, { prompt: 'prompt', response: 'response' }, 0);
  assert.equal(c.train.starts.length, 3);
  FIXTURE.forEach((p, i) => {
    const s = c.train.starts[i];
    const e = i + 1 < 3 ? c.train.starts[i + 1] : c.train.tokens.length;
    const ids = [...c.train.tokens.subarray(s, e)];
    assert.equal(ids[0], tok.bosId);
    assert.equal(ids[ids.length - 1], tok.eosId);
    assert.equal(tok.decode(ids.slice(0, c.train.promptLens[i])), p.prompt);
    assert.equal(tok.decode(ids), p.prompt + p.response);
  });
  assert.throws(() => loadPairCorpus(writePairs('bad.jsonl', [FIXTURE[0], { prompt: 'x', answer: 'y' }]), tok, { prompt: 'prompt', response: 'response' }, 0),
    /bad\.jsonl:2: field "response" is missing, expected a string \(data\.promptField \/ data\.responseField name the fields\)/);
});

test('pair batches score response targets only; the loss (CE and KD) is the mean over exactly those positions', async () => {
  const be = selectBackend();
  const tok = loadTokenizer(TOK);
  const c = loadPairCorpus(join(dir, 'fixture.jsonl'), tok, { prompt: 'prompt', response: 'response' }, 0);
  const B = 4, T = 48, V = tok.vocabSize, N = B * T;
  const batcher = new PairBatcher(c.train, B, T, 3, tok.eosId!);
  const windows = batcher.next();
  const scored = batcher.scored.slice();
  // Each row: scored targets are its response tokens (and EOS) inside the window, nothing else.
  for (let b = 0; b < B; b++) {
    const i = [...c.train.starts].indexOf(batcher.offsets[b]);
    const len = (i + 1 < 3 ? c.train.starts[i + 1] : c.train.tokens.length) - c.train.starts[i];
    const want = Math.min(len, T + 1) - c.train.promptLens[i];
    assert.equal(scored.subarray(b * T, (b + 1) * T).reduce((a, x) => a + x, 0), want, `row ${b} (pair ${i})`);
  }
  const ck = loadCheckpoint(TEACHER);
  const teacher = new ModelTeacher(be, createModel(ck.config, ck.params), B, T, 'stories260K');
  const student = createStudent({ kind: 'config', family: 'llama', dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32, tiedEmbeddings: true },
    { teacher: null, tokenizerVocab: V, seqLen: T, seed: 5, recipePath: 'test', microBatch: B });
  const lossCfg = { divergence: { kind: 'forward-kl' as const }, scaleT2: true, ignoreIndex: -1, teacher: { labelSmoothing: 0, topP: 1, tail: 'bucket' as const } };
  const micro = new MicroStep(be, student, teacher, lossCfg, B, T);
  micro.setWindows(windows, batcher.offsets, scored);
  const r = await micro.run(0.5, 1, 1);

  // Reference: full per-position CE and KD with every target live, averaged over scored rows.
  const inputs = new Int32Array(N), targets = new Int32Array(N);
  splitWindows(inputs, targets, windows, B, T);
  const acts = createActivations(student.config, B, T, { training: false, allLogits: true });
  const logits = forward(be, student, acts, inputs, B, T);
  const tl = teacher.logits(inputs, B, T).slice();
  const rowCe = new Float32Array(N), rowKd = new Float32Array(N);
  distillLossForwardBackward(be, null, rowCe, rowKd, logits, { kind: 'logits', logits: tl }, targets, N, V,
    { alpha: 0.5, divergence: lossCfg.divergence, ignoreIndex: -1 }, createDistillLossScratch(N));
  let ce = 0, kd = 0, n = 0, ceAll = 0;
  for (let i = 0; i < N; i++) {
    ceAll += rowCe[i];
    if (scored[i]) { ce += rowCe[i]; kd += rowKd[i]; n++; }
  }
  assert.ok(n > 0 && n < N);
  assert.ok(Math.abs(r.ce - ce / n) < 1e-4 * (ce / n), `masked CE ${r.ce} vs reference ${ce / n}`);
  assert.ok(Math.abs(r.kd - kd / n) < 1e-4 * (kd / n), `masked KD ${r.kd} vs reference ${kd / n}`);
  // The mask matters: the mean over every position is another number.
  assert.ok(Math.abs(ceAll / N - ce / n) > 1e-3);

  // Labels of masked positions are never read: the padding after a short pair is only ever a label
  // of a masked position (and an input after the pair's end, seen by masked positions only), so
  // rewriting it to other ids leaves the loss and the gradient exactly as they were.
  const grads1 = student.grads.slice();
  const other = windows.slice();
  let changed = 0;
  for (let b = 0; b < B; b++) {
    const i = [...c.train.starts].indexOf(batcher.offsets[b]);
    const len = (i + 1 < 3 ? c.train.starts[i + 1] : c.train.tokens.length) - c.train.starts[i];
    for (let t = len; t <= T; t++) { other[b * (T + 1) + t] = 100 + t; changed++; }
  }
  assert.ok(changed > 0);
  student.grads.fill(0);
  micro.setWindows(other, batcher.offsets, scored);
  for (let i = 0; i < N; i++) if (!scored[i]) assert.equal(micro.targets[i], -1);
  const r2 = await micro.run(0.5, 1, 1);
  assert.deepEqual(r2, r);
  assert.deepEqual(student.grads, grads1);
});

test('a short run on generated pairs (data.format: pairs) trains, with and without the teacher', async () => {
  const be = selectBackend();
  const tok = loadTokenizer(TOK);
  const ck = loadCheckpoint(TEACHER);
  const teacher = new ModelTeacher(be, createModel(ck.config, ck.params), 1, 1, 'stories260K', 'fp32', tok.identity());
  const prompts = splitParagraphs(readFileSync(join(data, 'tinystories', 'stories.txt'), 'utf8')).slice(0, 40).map((p) => p.slice(0, p.search(/[.!?]/) + 1) || p.slice(0, 40));
  const out = join(dir, 'gen.jsonl');
  await generateData({ teacher, tokenizer: tok, prompts, out, nPerPrompt: 1, stopIds: [tok.eosId!, tok.bosId!], concurrency: 1,
    sampling: { temperature: 1, topK: 0, topP: 1, seed: 1, maxTokens: 40 } });
  const recipe = (name: string, alpha: number) => {
    const p = join(dir, `${name}.yaml`);
    writeFileSync(p, `name: ${name}
outDir: ${join(dir, 'runs')}
seed: 3
data: {path: ${out}, format: pairs, tokenizer: ${TOK}}
teacher: {kind: checkpoint, path: ${TEACHER}}
student: {kind: config, dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32}
loss: {alpha: ${alpha}}
train: {steps: 30, batchSize: 8, seqLen: 64, lr: 0.02, checkpointEvery: 0, schedule: {kind: constant}}
eval: {every: 0, samples: {prompts: ["Once upon a time"], maxTokens: 8}}
monitor: {logEvery: 10, progress: false}
`);
    return p;
  };
  for (const [name, alpha] of [['pairs-ce', 1], ['pairs-kd', 0.5]] as const) {
    const s = await runRecipeFile({ recipePath: recipe(name, alpha) });
    const ce = s.loop.history.map((h) => h.ce);
    const first = ce.slice(0, 5).reduce((a, x) => a + x) / 5, last = ce.slice(-5).reduce((a, x) => a + x) / 5;
    assert.ok(last < first - 0.3, `${name}: CE ${first} over the first 5 steps, ${last} over the last 5`);
    assert.equal(s.kind, alpha === 1 ? 'baseline' : 'kd');
    if (alpha < 1) assert.ok(s.loop.history.every((h) => h.kd > 0));
  }
});
