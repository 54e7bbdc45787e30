// The Teacher seam (src/teacher/teacher.ts) on the model source, opened by openTeacher: logits
// equal the model's own forward (a padded head cut to the V asked for), hidden states + head give
// the same logits, accepted forms are honoured, generate() equals the model's greedy continuation,
// and requests or specs that do not fit are refused. A tiny random model on the ref backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRefBackend } from '../src/engine/ref/index.js';
import { Rng } from '../src/engine/rng.js';
import { saveCheckpoint } from '../src/io/checkpoint.js';
import { createActivations, createModel, forward, generate, initParams, type ModelConfig } from '../src/model/index.js';
import { openTeacher, type TeacherContext } from '../src/teacher/open-teacher.js';
import { TeacherError, type TeacherRequest } from '../src/teacher/teacher.js';
import { loadTokenizer } from '../src/data/index.js';

const be = createRefBackend();
// vocabulary 70 for a tokenizer of 67: a padded head (the three extra rows are never asked for)
const cfg: ModelConfig = {
  family: 'llama', dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32, vocabSize: 70, maxSeqLen: 16,
  normEps: 1e-5, ropeTheta: 10000, ropeMode: 'interleaved', tiedEmbeddings: false, qkvBias: false,
};
const params = initParams(cfg, new Rng(5));
const dir = mkdtempSync(join(tmpdir(), 'distill-teacher-'));
const path = join(dir, 'teacher.safetensors');
saveCheckpoint(path, cfg, params);
const B = 2, T = 8, V = 67;
const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % V);
const tokenizer = { identity: () => 'sha256:tok', source: 'tok.model', vocabSize: V };
const ctx: TeacherContext = {
  be, tokenizer, batch: B, seqLen: T, corpus: { train: tokens, val: tokens }, processing: { topP: 1, labelSmoothing: 0 }, source: 'test.yaml',
};
const req = (o: Partial<TeacherRequest> = {}): TeacherRequest =>
  ({ tokens, B, T, split: 'train', offsets: new Int32Array(B), V, accept: ['logits'], temperature: 1, ...o });

test('a checkpoint teacher gives the model\'s logits, cut to V, or its hidden states and head', async () => {
  const t = (await openTeacher({ kind: 'checkpoint', path, precision: 'fp32' }, ctx))!;
  assert.equal(t.vocabSize, 70);
  assert.equal(t.tokenizerIdentity, 'sha256:tok');
  assert.equal(t.params, createModel(cfg, params).layout.total);
  assert.ok(t.scoresAnyText && t.canGenerate && t.localModel !== null);
  assert.match(t.identity, /^sha256:[0-9a-f]{64}$/);
  const model = createModel(cfg, params);
  const full = forward(be, model, createActivations(cfg, B, T, { training: false, allLogits: true }), tokens, B, T).slice();
  const out = await t.predict(req());
  assert.equal(out.kind, 'logits');
  if (out.kind !== 'logits') return;
  assert.equal(out.logits.length, B * T * V);
  for (let i = 0; i < B * T; i++) assert.deepEqual(out.logits.subarray(i * V, (i + 1) * V), full.subarray(i * 70, i * 70 + V), `row ${i}`);
  const h = await t.predict(req({ accept: ['hidden', 'logits'] }));
  assert.equal(h.kind, 'hidden');
  if (h.kind !== 'hidden') return;
  const fromHidden = new Float32Array(B * T * V);
  be.gemm(fromHidden, h.hidden, h.head, B * T, V, h.C, false, true, 1, 0);
  for (let i = 0; i < fromHidden.length; i++) assert.ok(Math.abs(fromHidden[i] - out.logits[i]) <= 1e-6 * Math.max(1, Math.abs(out.logits[i])));
});

test('generate() continues a prompt as the model does; forms and sizes that do not fit are refused', async () => {
  const t = (await openTeacher({ kind: 'checkpoint', path, precision: 'fp32' }, ctx))!;
  const want = generate(be, createModel(cfg, params), [1, 2, 3], { maxNewTokens: 6, temperature: 0 });
  assert.deepEqual(await t.generate!([1, 2, 3], { maxNewTokens: 6, temperature: 0 }), want);
  await assert.rejects(() => t.predict(req({ accept: ['sparse'] })), (e: unknown) => e instanceof TeacherError && /accepts only sparse/.test(e.message));
  await assert.rejects(() => t.predict(req({ V: 71 })), /71 ids per row asked, its vocabulary has 70/);
  await assert.rejects(() => t.predict(req({ B: 3, tokens: new Int32Array(3 * T) })), /3 windows per call, it was opened for 1\.\.2/);
  assert.equal(await openTeacher({ kind: 'none' }, ctx), null);
  await assert.rejects(() => openTeacher({ kind: 'checkpoint', path, precision: 'fp32' }, { ...ctx, tokenizer: { ...tokenizer, vocabSize: 80 } }),
    /test\.yaml: teacher .*teacher\.safetensors has a vocabulary of 70 but the run's tokenizer tok\.model \(80 pieces, sha256:tok\) has 80: the teacher cannot score ids 70\.\.79\. .*a padded head\) is sliced to it/);
  await assert.rejects(() => openTeacher({ kind: 'checkpoint', path, precision: 'fp32' }, { ...ctx, seqLen: 17 }), TeacherError);
});

test('a teacher folder with its own tokenizer is refused for another vocabulary, naming both and the ways out', async () => {
  // ../shared/data/tinystories-656k carries its 2,048-piece tokenizer.json; the run speaks tok512.
  const M656 = '../shared/data/tinystories-656k';
  const tok512 = loadTokenizer('../shared/data/stories260K/tok512.bin');
  const run = { ...ctx, tokenizer: tok512 };
  await assert.rejects(() => openTeacher({ kind: 'checkpoint', path: M656, precision: 'fp32' }, run), (e: unknown) => {
    assert.ok(e instanceof TeacherError);
    assert.match(e.message, /^test\.yaml: teacher hf \.\.\/shared\/data\/tinystories-656k speaks tokenizer \.\.\/shared\/data\/tinystories-656k\/tokenizer\.json \(2048 pieces, sha256:[0-9a-f]+\), the run's tokenizer \.\.\/shared\/data\/stories260K\/tok512\.bin \(512 pieces, sha256:[0-9a-f]+\) is another vocabulary/);
    assert.match(e.message, /Ways out: train the student on the teacher's tokenizer \(data\.tokenizer: \.\.\/shared\/data\/tinystories-656k\/tokenizer\.json\); or distil across tokenizers: loss\.crossTokenizer: \{method: span\}/);
    return true;
  });
  const own = loadTokenizer(`${M656}/tokenizer.json`);
  const t = (await openTeacher({ kind: 'checkpoint', path: M656, precision: 'fp32' }, { ...ctx, tokenizer: own }))!;
  assert.equal(t.tokenizerIdentity, own.identity());
  assert.equal(t.vocabSize, 2048);
});

test('a GGUF teacher speaks the vocabulary inside the file: tok512 is accepted, another tokenizer refused', async () => {
  const gguf = '../shared/data/stories260K-gguf/stories260K.gguf';
  const tok512 = loadTokenizer('../shared/data/stories260K/tok512.model');
  const t = (await openTeacher({ kind: 'checkpoint', path: gguf, precision: 'fp32' }, { ...ctx, tokenizer: tok512 }))!;
  assert.equal(t.tokenizerIdentity, tok512.identity());
  const other = loadTokenizer('../shared/data/tinystories-656k/tokenizer.json');
  await assert.rejects(() => openTeacher({ kind: 'checkpoint', path: gguf, precision: 'fp32' }, { ...ctx, tokenizer: other }),
    /teacher gguf .*stories260K\.gguf speaks tokenizer .*stories260K\.gguf \(512 pieces, sha256:[0-9a-f]+\), the run's tokenizer .*tokenizer\.json \(2048 pieces/);
});
