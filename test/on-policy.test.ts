// On-policy distillation (loss.onPolicy, src/train/on-policy.ts) on the real stories260K teacher:
// the generated rows are the student's own samples (equal to model generate with each row's seed)
// or, with seqKd, the teacher's; λ = 0 is the plain run bit for bit; λ = 1 trains, repeats for a
// seed, and its losses differ from the plain run's; JSD and reverse KL run on generated batches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../src/data/index.js';
import { RandomWindowBatcher } from '../src/data/batcher.js';
import { selectBackend } from '../src/engine/select.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { createModel, generate } from '../src/model/index.js';
import { ModelTeacher } from '../src/teacher/model-teacher.js';
import { isGeneratedDraw, OnPolicyGenerator, onPolicySeed } from '../src/train/on-policy.js';
import { createStudent } from '../src/train/student-init.js';
import { runRecipeFile } from './helpers/run-recipe.js';

const data = join('..', 'shared', 'data');
const TOK = join(data, 'stories260K', 'tok512.bin');
const TEACHER = join(data, 'stories260K', 'stories260K.bin');
const dir = mkdtempSync(join(tmpdir(), 'distill-onpolicy-'));
const corpus = join(dir, 'stories.txt');
// The first 200 paragraphs of the real corpus keep the runs fast and the text real.
writeFileSync(corpus, readFileSync(join(data, 'tinystories', 'stories.txt'), 'utf8').split(/\n\s*\n/).slice(0, 200).join('\n\n'));

function recipe(name: string, loss: string): string {
  const p = join(dir, `${name}.yaml`);
  writeFileSync(p, `name: ${name}
outDir: ${join(dir, 'runs')}
seed: 4
data: {path: ${corpus}, tokenizer: ${TOK}, cacheDir: ${join(dir, 'cache')}}
teacher: {kind: checkpoint, path: ${TEACHER}}
student: {kind: config, dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32}
loss: ${loss}
train: {steps: 24, batchSize: 4, seqLen: 48, lr: 0.02, checkpointEvery: 0, schedule: {kind: constant}}
eval: {every: 0, maxWindows: 8, samples: {prompts: ["Once upon a time"], maxTokens: 8}}
monitor: {logEvery: 4, progress: false}
`);
  return p;
}

test('generated rows: the student\'s samples from onPolicySeed (or the teacher\'s with seqKd), loss on the continuation only', async () => {
  const be = selectBackend();
  const tok = loadTokenizer(TOK);
  const ck = loadCheckpoint(TEACHER);
  const tmodel = createModel(ck.config, ck.params);
  const B = 3, T = 40;
  const teacher = new ModelTeacher(be, tmodel, B, T, 'stories260K');
  const student = createStudent({ kind: 'config', family: 'llama', dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32, tiedEmbeddings: true },
    { teacher: tmodel, tokenizerVocab: tok.vocabSize, seqLen: T, seed: 2, recipePath: 'test', microBatch: B });
  const stopIds = [tok.eosId!, tok.bosId!];
  const settings = { lambda: 1, maxNewTokens: 20, temperature: 1, promptTokens: 8, seqKd: false };
  const stream = new Uint32Array(readFileSync(corpus, 'utf8').split(/\n\n/).slice(0, 20).flatMap((p) => tok.encode(p, { bos: true })));
  const windows = new RandomWindowBatcher(stream, B, T, 1).next();
  const continuation = async (seqKd: boolean) => {
    const g = new OnPolicyGenerator(be, student, teacher, { ...settings, seqKd }, B, T, 9, stopIds, tok.eosId!, 'test');
    return g.generateBatch(windows, 5, null);
  };
  const own = await continuation(false);
  const fromTeacher = await continuation(true);
  let differ = 0;
  for (let b = 0; b < B; b++) {
    const prompt = Array.from(windows.subarray(b * (T + 1), b * (T + 1) + 8));
    const opts = { maxNewTokens: 20, temperature: 1, seed: onPolicySeed(9, 5, b + 1), stopIds };
    const s = generate(be, student, prompt, opts).tokens;
    const t = generate(be, tmodel, prompt, opts).tokens;
    const row = (g: typeof own) => Array.from(g.windows.subarray(b * (T + 1), b * (T + 1) + 8 + g.newTokens[b]));
    assert.deepEqual(row(own), [...prompt, ...s], `row ${b}: prompt + the student's own sample`);
    assert.deepEqual(row(fromTeacher), [...prompt, ...t], `row ${b}: prompt + the teacher's sample`);
    if (s.join() !== t.join()) differ++;
    // Scored targets: positions 7 .. 7+n-1 (each predicts a continuation token), nothing else.
    const scored = Array.from(own.scored.subarray(b * T, (b + 1) * T));
    assert.deepEqual(scored, scored.map((_, t) => (t >= 7 && t < 7 + s.length ? 1 : 0)));
  }
  assert.ok(differ > 0, 'student and teacher samples are not all the same');
  // The generated share follows λ: about half of 2,000 draws at λ = 0.5, none at 0, all at 1.
  const count = (lambda: number) => Array.from({ length: 2000 }, (_, d) => isGeneratedDraw({ ...settings, lambda }, 4, d)).filter(Boolean).length;
  assert.equal(count(0), 0);
  assert.equal(count(1), 2000);
  assert.ok(Math.abs(count(0.5) - 1000) < 100, `${count(0.5)} of 2000 at λ 0.5`);
});

test('λ = 0 is the plain run bit for bit; λ = 1 trains, repeats for its seed, and its losses differ', async () => {
  const hist = (s: Awaited<ReturnType<typeof runRecipeFile>>) => s.loop.history;
  const plain = await runRecipeFile({ recipePath: recipe('plain', '{alpha: 0.5, kd: {kind: reverse-kl}}') });
  const zero = await runRecipeFile({ recipePath: recipe('zero', '{alpha: 0.5, kd: {kind: reverse-kl}, onPolicy: {lambda: 0}}') });
  assert.deepEqual(hist(zero), hist(plain));
  assert.equal(zero.student.valLoss, plain.student.valLoss);
  // The run folder holds the teacher's sample of each prompt beside the student's (for the report):
  // greedy, 8 tokens, the start of shared/data/README.md's continuation.
  const samples = readFileSync(join(plain.runDir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { tag: string; text: string });
  assert.deepEqual(samples.map((s) => s.tag), ['samples/0', 'teacher-samples/0']);
  assert.ok('Once upon a time, there was a little girl named Lily.'.startsWith(samples[1].text) && samples[1].text.length > 25, samples[1].text);

  const on = () => '{alpha: 0.5, kd: {kind: reverse-kl}, onPolicy: {lambda: 1, maxNewTokens: 32, promptTokens: 8}}';
  const a = await runRecipeFile({ recipePath: recipe('on-a', on()) });
  const b = await runRecipeFile({ recipePath: recipe('on-b', on()) });
  assert.deepEqual(hist(a), hist(b));
  assert.notDeepEqual(hist(a).map((h) => h.loss), hist(plain).map((h) => h.loss));
  // Pure divergence on every batch (α 0 on the student's own samples): loss = kd.
  for (const h of hist(a)) assert.equal(h.loss, h.kd);
  const kd = hist(a).map((h) => h.kd);
  const first = kd.slice(0, 4).reduce((x, y) => x + y) / 4, last = kd.slice(-4).reduce((x, y) => x + y) / 4;
  assert.ok(last < 0.8 * first, `reverse KL on the student's samples: ${first} over the first 4 steps, ${last} over the last 4`);
});

test('JSD on a λ = 0.5 mix and seqKd (teacher continuations) train', async () => {
  const jsd = await runRecipeFile({ recipePath: recipe('jsd', '{alpha: 0.5, kd: {kind: jsd, beta: 0.5}, onPolicy: {lambda: 0.5, maxNewTokens: 24, promptTokens: 8}}') });
  const seq = await runRecipeFile({ recipePath: recipe('seqkd', '{alpha: 1, onPolicy: {lambda: 1, maxNewTokens: 32, promptTokens: 8, seqKd: true}}') });
  // A fresh student scores about ln 512 = 6.24 nats/token (its first loss in these runs); 24 steps
  // bring both below 5.24 (measured 4.92 and 4.95 with this recipe).
  for (const s of [jsd, seq]) assert.ok(s.student.valLoss < Math.log(512) - 1, `${s.name}: val loss ${s.student.valLoss}`);
  // The λ = 0.5 mix is a mix: its steps' losses are of two kinds (JSD alone under 1, α-mixed CE + JSD above 2).
  const kinds = jsd.loop.history.map((h) => h.loss < 1);
  assert.ok(kinds.includes(true) && kinds.includes(false));
  // seqKd with α = 1 is hard labels on the teacher's text: a baseline run, no KD term.
  assert.equal(seq.kind, 'baseline');
  assert.ok(seq.loop.history.every((h) => h.kd === 0));
});
