// The hidden-state term in training (src/train/hidden-distill.ts + the residual gradients
// backwardFromHidden adds): its gradient through a real student made from stories260K equals
// central finite differences, for the student's parameters and the learned projection, cosine and
// MSE, on ref and native; state pairs out of range name loss.hidden.pairs; a run with the term
// stopped and resumed equals the uninterrupted run (the projections are checkpointed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableBackends } from '../src/engine/select.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { backwardFromHidden, createActivations, createModel, forwardToHidden, shrinkModel, zeroGradsInPlace } from '../src/model/index.js';
import { HiddenDistill } from '../src/train/hidden-distill.js';
import { runRecipeFile } from './helpers/run-recipe.js';

const data = join('..', 'shared', 'data');
const ck = loadCheckpoint(join(data, 'stories260K', 'stories260K.bin'));
const B = 2, T = 16;
const inputs = Int32Array.from({ length: B * T }, (_, i) => (i * 53 + 7) % 512);
const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 5 === 0 ? -1 : 1));
const settings = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 };

for (const be of availableBackends()) {
  for (const kind of ['cosine', 'mse'] as const) {
    test(`${be.name}: the ${kind} hidden term's gradients (student and projection) equal finite differences`, () => {
      const teacher = createModel(ck.config, ck.params);
      const calib = { windows: inputs, T };
      // layers 0 and 2, width 16 (2 heads) of 64: a projection per pair
      const student = shrinkModel(be, teacher, { layers: [0, 2], width: { heads: 2, hiddenDim: 24 } }, calib, 'student').model;
      const hd = new HiddenDistill(be, student, teacher, { kind, weight: 0.8, pairs: [[1, 1], [2, 5]] }, B, T, settings, 3, 'r.yaml');
      const acts = createActivations(student.config, B, T, { headLogits: false });
      const dHidden = new Float32Array(B * T * student.config.dim); // the CE/KD part left out: 0
      const lossAt = () => { forwardToHidden(be, student, acts, inputs, B, T); return hd.forwardBackward(inputs, targets, -1, acts, 1).loss; };
      zeroGradsInPlace(student);
      hd.zeroGradsInPlace();
      forwardToHidden(be, student, acts, inputs, B, T);
      const { residual } = hd.forwardBackward(inputs, targets, -1, acts, 1);
      backwardFromHidden(be, student, acts, dHidden, residual);
      const projGrads = hd.grads.slice(); // lossAt() below accumulates into hd.grads again
      // The largest gradients of a few tensors (the embedding, a first-block and a second-block
      // matrix, a norm) and of the projections, against (L(p+h) − L(p−h)) / 2h in f32.
      const check = (params: Float32Array, grads: Float32Array, offset: number, size: number, label: string) => {
        const idx = [...Array(size).keys()].map((i) => offset + i).sort((a, b) => Math.abs(grads[b]) - Math.abs(grads[a])).slice(0, 3);
        for (const i of idx) {
          const p0 = params[i], h = 1e-2 * Math.max(1, Math.abs(p0));
          params[i] = p0 + h; const up = lossAt();
          params[i] = p0 - h; const down = lossAt();
          params[i] = p0;
          const fd = (up - down) / (2 * h);
          assert.ok(Math.abs(fd - grads[i]) <= 0.03 * Math.abs(grads[i]) + 1e-5, `${label}[${i - offset}]: analytic ${grads[i]}, finite difference ${fd}`);
        }
      };
      for (const name of ['tok_embeddings', 'layers.0.w2', 'layers.1.wq', 'layers.1.attn_norm', 'norm']) {
        const e = student.layout.byName.get(name)!;
        if (name === 'norm') { assert.ok(student.grads.subarray(e.offset, e.offset + e.size).every((g) => g === 0), 'the final norm is after every state'); continue; }
        check(student.params, student.grads, e.offset, e.size, name);
      }
      for (const e of hd.layout.entries) check(hd.params, projGrads, e.offset, e.size, e.name);
      assert.throws(() => new HiddenDistill(be, student, teacher, { kind, weight: 1, pairs: [[3, 1]] }, B, T, settings, 3, 'r.yaml'),
        /r\.yaml: key 'loss\.hidden\.pairs': student state 3 does not exist; the student has states 0\.\.2/);
      assert.throws(() => new HiddenDistill(be, student, teacher, { kind, weight: 1, pairs: [[1, 6]] }, B, T, settings, 3, 'r.yaml'),
        /key 'loss\.hidden\.pairs': teacher state 6 does not exist; the teacher has states 0\.\.5/);
    });
  }
}

test('a run with the hidden term, stopped and resumed, equals the uninterrupted run; its checkpoints hold the projections', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'distill-hidden-'));
  const recipe = join(dir, 'h.yaml');
  writeFileSync(recipe, `name: h
outDir: ${join(dir, 'runs')}
seed: 3
data: {path: ${join(data, 'tinystories', 'stories.txt')}, tokenizer: ${join(data, 'stories260K', 'tok512.bin')}, cacheDir: ${join(dir, 'cache')}}
teacher: {kind: checkpoint, path: ${join(data, 'stories260K', 'stories260K.bin')}}
student: {kind: from-teacher, layers: [0, 4], width: {heads: 2, hiddenDim: 32}, calibrationWindows: 4}
loss: {alpha: 0.5, hidden: {kind: cosine, weight: 1}}
train: {steps: 4, batchSize: 2, seqLen: 32, checkpointEvery: 2}
eval: {every: 0, maxWindows: 2, samples: {prompts: ["Once"], maxTokens: 2}}
monitor: {logEvery: 1, progress: false, tensorboard: false}
`);
  const full = await runRecipeFile({ recipePath: recipe, overrides: ['name=full'] });
  const part = await runRecipeFile({ recipePath: recipe, overrides: ['name=part'], stopAfterStep: 2 });
  assert.deepEqual(readdirSync(join(part.runDir, 'checkpoints', 'step-000002')).sort(), ['hidden.safetensors', 'model.safetensors', 'optimizer.safetensors', 'state.json']);
  const rest = await runRecipeFile({ recipePath: recipe, overrides: ['name=part'], resume: true });
  const losses = (r: typeof full) => r.loop.history.map((h) => h.loss);
  assert.deepEqual([...losses(part), ...losses(rest)], losses(full));
  assert.equal(rest.student.valLoss, full.student.valLoss);
  assert.ok(full.loop.history.every((h) => h.loss > h.ce * 0.5), 'the loss includes the hidden term');
});
