// End to end: `distill serve stories260K.bin` as the http teacher of a short KD run gives the
// losses the same checkpoint teacher gives in-process with the same top-k truncation
// (loss.teacher.topK = teacher.topK = 8), step for step — plain KD, on-policy batches (the
// student's samples scored over http) and seqKd (the continuations generated over http); and a run
// may not ask an http teacher for processing that needs dense logits.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRecipeFile } from './helpers/run-recipe.js';
import { startServe, STORIES, TOK512 } from './helpers/serve-child.js';

const dir = mkdtempSync(join(tmpdir(), 'distill-http-kd-'));
const corpus = join(dir, 'stories.txt');
// The first 100 paragraphs of the real corpus keep the run short and the text real.
writeFileSync(corpus, readFileSync('../shared/data/tinystories/stories.txt', 'utf8').split(/\n\s*\n/).slice(0, 100).join('\n\n'));
const server = await startServe();
after(() => server.stop('SIGKILL'));

function recipe(name: string, teacher: string, extra = ''): string {
  const p = join(dir, `${name}.yaml`);
  writeFileSync(p, `name: ${name}
outDir: ${join(dir, 'runs')}
seed: 3
data: {path: ${corpus}, tokenizer: ${TOK512}, cacheDir: ${join(dir, 'cache')}}
teacher: ${teacher}
student: {kind: config, dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32, maxSeqLen: 64}
train: {steps: 5, batchSize: 4, seqLen: 32, lr: 0.01, checkpointEvery: 0, schedule: {kind: constant}}
eval: {every: 0, maxWindows: 4, samples: {prompts: ["Once upon a time"], maxTokens: 4}}
monitor: {logEvery: 1, progress: false, tensorboard: false}
${extra}`);
  return p;
}

test('KD from distill serve over http gives the checkpoint teacher\'s losses at the same top-k', async () => {
  const local = await runRecipeFile({ recipePath: recipe('local', `{kind: checkpoint, path: ${STORIES}}`, 'loss: {teacher: {topK: 8}}') });
  const http = await runRecipeFile({ recipePath: recipe('http', `{kind: http, url: ${server.url}, model: stories260K.bin, topK: 8}`) });
  assert.equal(http.loop.history.length, 5);
  for (const [i, h] of http.loop.history.entries()) {
    const l = local.loop.history[i];
    assert.ok(h.kd > 0 && Number.isFinite(h.loss));
    // sparse rows of log-probs through JSON (f64) vs made in-process from f32 logits: same ids, values to ~1e-7
    assert.ok(Math.abs(h.kd - l.kd) <= 1e-5 * Math.max(1, l.kd), `step ${i} kd: ${h.kd} vs ${l.kd}`);
    assert.ok(Math.abs(h.loss - l.loss) <= 1e-5 * Math.max(1, l.loss), `step ${i} loss: ${h.loss} vs ${l.loss}`);
  }
});

test('on-policy batches scored over http (prompt_logprobs) and seqKd continuations generated over http equal the checkpoint teacher\'s', async () => {
  for (const onPolicy of ['{lambda: 1, maxNewTokens: 12, promptTokens: 8}', '{lambda: 1, maxNewTokens: 12, promptTokens: 8, seqKd: true}']) {
    const loss = (extra: string) => `loss: {kd: {kind: reverse-kl}, onPolicy: ${onPolicy}${extra}}`;
    const local = await runRecipeFile({ recipePath: recipe('op-local', `{kind: checkpoint, path: ${STORIES}}`, loss(', teacher: {topK: 8}')), overwrite: true });
    const http = await runRecipeFile({ recipePath: recipe('op-http', `{kind: http, url: ${server.url}, model: stories260K.bin, topK: 8}`, loss('')), overwrite: true });
    assert.equal(http.loop.history.length, 5);
    for (const [i, h] of http.loop.history.entries()) {
      const l = local.loop.history[i];
      assert.ok(h.kd > 0, `${onPolicy} step ${i}: kd ${h.kd}`);
      assert.ok(Math.abs(h.loss - l.loss) <= 1e-5 * Math.max(1, l.loss), `${onPolicy} step ${i} loss: ${h.loss} vs ${l.loss}`);
    }
  }
});

test('an http teacher refuses loss.teacher processing that needs dense logits', async () => {
  await assert.rejects(runRecipeFile({ recipePath: recipe('bad', `{kind: http, url: ${server.url}, model: stories260K.bin, topK: 8}`, 'loss: {teacher: {topK: 8}}') }),
    /loss.teacher.topK \(8\) cannot apply to an http teacher: .* teacher.topK/);
});
