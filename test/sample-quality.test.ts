// Generation quality measures (src/eval/sample-quality.ts) on the real stories260K model: the
// judge's NLL of a continuation equals the log-probs the generating steps themselves gave (KV
// cache path vs one full forward), repeated n-grams are counted by hand, and a greedy sample is
// the README continuation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadTokenizer } from '../src/data/index.js';
import { selectBackend } from '../src/engine/select.js';
import { judgeNllSum, repeatedNgrams, sampleQuality } from '../src/eval/sample-quality.js';
import { distinctNgrams, diversityScalars, sampleDiversity } from '../src/eval/sample-diversity.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { createModel, generateSteps } from '../src/model/index.js';

const S = join('..', 'shared', 'data', 'stories260K');

test('repeated n-grams, counted by hand', () => {
  // 3-grams of 1 2 3 1 2 3 1: 123 231 312 123 231 -> 5, of which the last two repeat.
  assert.deepEqual(repeatedNgrams([1, 2, 3, 1, 2, 3, 1], 3), { repeated: 2, total: 5 });
  assert.deepEqual(repeatedNgrams([1, 2], 3), { repeated: 0, total: 0 });
  assert.deepEqual(repeatedNgrams([5, 5, 5, 5], 2), { repeated: 2, total: 3 });
});

test('distinct-n and repetition, counted by hand: a formulaic sample scores low and high', () => {
  // unigrams of [1 2 1 2] and [3 4]: 6, unique {1,2,3,4} = 4 -> 4/6; bigrams 12 21 12 | 34: 4, unique 3 -> 3/4
  assert.equal(distinctNgrams([[1, 2, 1, 2], [3, 4]], 1), 4 / 6);
  assert.equal(distinctNgrams([[1, 2, 1, 2], [3, 4]], 2), 3 / 4);
  assert.equal(distinctNgrams([[1]], 2), 0, 'no bigram: 0, not NaN');
  // a loop "the cat sat . the cat sat . ..." (ids 1 2 3 4 repeated 4 times): 16 tokens, 13 4-grams,
  // of which the first 4 are new and 9 repeat; 4 distinct unigrams of 16
  const loop = Array.from({ length: 16 }, (_, i) => 1 + (i % 4));
  const varied = Array.from({ length: 16 }, (_, i) => 10 + i);
  assert.deepEqual(sampleDiversity([loop]), { distinct1: 4 / 16, distinct2: 4 / 15, repetition4: 9 / 13, meanTokens: 16 });
  assert.deepEqual(sampleDiversity([varied]), { distinct1: 1, distinct2: 1, repetition4: 0, meanTokens: 16 });
  assert.deepEqual(sampleDiversity([]), { distinct1: 0, distinct2: 0, repetition4: 0, meanTokens: 0 });
  assert.deepEqual(Object.keys(diversityScalars(sampleDiversity([loop]), 'teacher_')),
    ['diversity/teacher_distinct_1', 'diversity/teacher_distinct_2', 'diversity/teacher_repetition_4', 'diversity/teacher_mean_tokens']);
});

test('judge NLL of a sampled continuation = minus the log-probs its own generation steps gave', () => {
  const be = selectBackend();
  const tok = loadTokenizer(join(S, 'tok512.bin'));
  const ck = loadCheckpoint(join(S, 'stories260K.bin'));
  const model = createModel(ck.config, ck.params);
  const prompt = [tok.bosId!, ...tok.encode('Tom had a red ball.')];
  let want = 0;
  const cont: number[] = [];
  const steps = generateSteps(be, model, prompt, { maxNewTokens: 30, temperature: 1, seed: 11 });
  for (let s = steps.next(); !s.done; s = steps.next()) {
    const { id, logits } = s.value;
    let max = -Infinity;
    for (const x of logits) max = Math.max(max, x);
    let sum = 0;
    for (const x of logits) sum += Math.exp(x - max);
    want += max + Math.log(sum) - logits[id];
    cont.push(id);
  }
  const got = judgeNllSum(be, model, prompt, cont);
  assert.equal(got.count, 30);
  assert.ok(Math.abs(got.sum - want) < 1e-3 * want, `${got.sum} vs ${want}`);

  const q = sampleQuality(be, model, model, [[tok.bosId!, ...tok.encode('Once upon a time')]], { maxNewTokens: 27, temperature: 0, seed: 0, stopIds: [] });
  // shared/data/README.md: the greedy continuation of "Once upon a time".
  assert.equal(tok.decode(q.continuations[0]).trim(), ', there was a little girl named Lily. She loved to play outside in the park.');
  assert.equal(q.meanTokens, 27);
  assert.ok(q.judgeNll > 0 && q.judgeNll < 1.5, `greedy text is likely under its own model: ${q.judgeNll} nats/token`);
});
