// Pins `distill eval`'s figure for stories260K on the TinyStories validation split to the PyTorch
// reference (test/fixtures/eval/stories260k-val.json, written by
// `/usr/bin/python3 scripts/ref-eval-stories260k.py > test/fixtures/eval/stories260k-val.json`):
// same tokens (count and sha256 of the ids), same windowing, loss within relative 1e-4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableBackends } from '../engine/select.js';
import { fixturesDir } from '../../test/helpers/fixtures.js';
import { loadModelAndTokenizer } from './load-pair.js';
import { corpusSplit, evaluatePerplexity, EvalError } from './perplexity.js';

const DATA = '../shared/data';
const refJson = JSON.parse(readFileSync(join(fixturesDir, 'eval', 'stories260k-val.json'), 'utf8')) as {
  tokens: number; tokensSha256: string; seqLen: number; windows: number; meanLoss: number; firstWindowsLoss: Record<string, number>;
};
const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

test('validation split tokens with tok512.model equal the reference\'s (sentencepiece)', () => {
  const { tokenizer } = loadModelAndTokenizer(`${DATA}/stories260K/stories260K.bin`, `${DATA}/stories260K/tok512.model`);
  const ids = corpusSplit(`${DATA}/tinystories/stories.txt`, tokenizer, 'val');
  assert.equal(ids.length, refJson.tokens);
  assert.equal(createHash('sha256').update(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength)).digest('hex'), refJson.tokensSha256);
});

test('tok512.bin differs from SentencePiece by one token: llama2.c keeps a double space', () => {
  // SentencePiece's normalizer (remove_extra_whitespaces) folds "mouth.  The" to one space; the
  // llama2.c encoder (run.c) has no normalizer and encodes the second space: one id more.
  const { tokenizer } = loadModelAndTokenizer(`${DATA}/stories260K/stories260K.bin`, `${DATA}/stories260K/tok512.bin`);
  const ids = corpusSplit(`${DATA}/tinystories/stories.txt`, tokenizer, 'val');
  assert.equal(ids.length, refJson.tokens + 1);
});

const { model, tokenizer } = loadModelAndTokenizer(`${DATA}/stories260K/stories260K.bin`, `${DATA}/stories260K/tok512.model`);
const tokens = corpusSplit(`${DATA}/tinystories/stories.txt`, tokenizer, 'val');

for (const be of availableBackends()) {
  // ref scores ~400 tokens/s on this machine: 4 windows there, the whole split on native.
  const maxWindows = be.name === 'ref' ? 4 : undefined;
  test(`stories260K val loss on ${be.name} matches PyTorch within 1e-4 (${maxWindows ?? 'all'} windows)`, async () => {
    const r = await evaluatePerplexity(be, model, tokens, { seqLen: refJson.seqLen, maxWindows });
    const want = maxWindows ? refJson.firstWindowsLoss[String(maxWindows)] : refJson.meanLoss;
    assert.equal(r.windows, maxWindows ?? refJson.windows);
    assert.equal(r.tokensScored, r.windows * refJson.seqLen);
    assert.ok(relDiff(r.meanLoss, want) <= 1e-4, `loss ${r.meanLoss} vs PyTorch ${want}`);
    assert.ok(Math.abs(r.perplexity - Math.exp(r.meanLoss)) < 1e-12);
  });
}

test('maxWindows scores exactly the first windows: a batch boundary does not change the figure', async () => {
  // Windows 1..4 scored as batches of 3 + 1 equal the reference's firstWindowsLoss["4"].
  const be = availableBackends().at(-1)!;
  const r = await evaluatePerplexity(be, model, tokens, { seqLen: refJson.seqLen, maxWindows: 4, batchSize: 3 });
  assert.equal(r.windows, 4);
  assert.ok(relDiff(r.meanLoss, refJson.firstWindowsLoss['4']) <= 1e-4, `loss ${r.meanLoss}`);
});

test('evaluatePerplexity refuses too few tokens, a window beyond the context, and foreign ids', async () => {
  const be = availableBackends()[0];
  await assert.rejects(() => evaluatePerplexity(be, model, tokens.subarray(0, 100), { seqLen: 256 }), /100 tokens make no window of 256 inputs \+ 256 targets; need at least 257 tokens/);
  await assert.rejects(() => evaluatePerplexity(be, model, tokens, { seqLen: 513 }), EvalError);
  await assert.rejects(() => evaluatePerplexity(be, model, Int32Array.from([1, 2, 600]), { seqLen: 2 }), /token 600 at position 2 is outside the model's vocabulary \[0, 512\)/);
});
