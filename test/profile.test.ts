// The profiling Backend wrapper (src/engine/profile-backend.ts): on every available backend a
// tiny Llama forward/backward through the wrapper gives bit-identical loss and gradients to the
// unwrapped backend, and the wrapper counts the calls the model makes (derived from the model's
// structure, see below) and accumulates positive times per op group. Then `distill run --profile`
// (runRecipe with profile) on a tiny KD recipe: same losses as without, profile.json and the
// profile/* TensorBoard scalars written.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTfEvents } from '../src/io/tfevents.js';
import { buildReportHtml } from '../src/report/report-html.js';
import { loadRun } from '../src/report/run-files.js';
import { runRecipeFile } from './helpers/run-recipe.js';
import { tinyRecipes } from './helpers/tiny-recipe.js';
import type { Backend } from '../src/engine/backend.js';
import { formatProfileTable, opGroup, profileBackend, profileScalars, type ProfileReport } from '../src/engine/profile-backend.js';
import { Rng } from '../src/engine/rng.js';
import { availableBackends } from '../src/engine/select.js';
import { type ModelConfig, createActivations, createModel, initParams, lossAndGrad, zeroGradsInPlace } from '../src/model/index.js';

const L = 2;
const CFG: ModelConfig = {
  family: 'llama', dim: 16, nLayers: L, nHeads: 4, nKvHeads: 2, hiddenDim: 24, vocabSize: 32, maxSeqLen: 8,
  normEps: 1e-5, ropeTheta: 10000, ropeMode: 'interleaved', tiedEmbeddings: true, qkvBias: false,
};
const B = 2, T = 8;

function run(be: Backend): { loss: number; grads: Float32Array } {
  const model = createModel(CFG, initParams(CFG, new Rng(7)));
  const acts = createActivations(CFG, B, T);
  const rng = new Rng(11);
  const inputs = new Int32Array(B * T).map(() => rng.nextInt(CFG.vocabSize));
  const targets = new Int32Array(B * T).map(() => rng.nextInt(CFG.vocabSize));
  zeroGradsInPlace(model);
  const r = lossAndGrad(be, model, acts, inputs, targets, B, T);
  return { loss: r.loss, grads: model.grads.slice() };
}

describe('profileBackend', () => {
  test('op names fall into the documented groups', async () => {
    const expect: Record<string, string> = {
      gemm: 'gemm', attentionBackward: 'attention', rmsnormForward: 'norms', layernormBackward: 'norms',
      swigluBackward: 'activations', geluForward: 'activations', ropeForward: 'rope', embeddingBackward: 'embedding',
      crossEntropyForward: 'loss', headLossForwardBackward: 'loss', adamwStep: 'optimizer', topkForward: 'topk', somethingNew: 'other',
    };
    for (const [op, g] of Object.entries(expect)) assert.equal(opGroup(op), g, op);
  });

  for (const inner of availableBackends()) {
    test(`${inner.name}: identical results, counted calls, timed groups`, async () => {
      const plain = run(inner);
      const prof = profileBackend(inner);
      assert.equal(prof.name, inner.name);
      assert.equal(prof.threads, inner.threads);
      const wrapped = run(prof);
      assert.equal(wrapped.loss, plain.loss);
      assert.deepEqual(wrapped.grads, plain.grads);

      const p = prof.profile();
      const calls = (op: string) => p.ops.find((o) => o.op === op)?.calls ?? 0;
      // Counts from src/model/forward.ts and backward.ts: per block 2 rmsnorms, 2 ropes (q, k),
      // 1 attention, 1 swiglu; plus the final norm, one embedding lookup, one CE forward/backward.
      assert.equal(calls('rmsnormForward'), 2 * L + 1);
      assert.equal(calls('rmsnormBackward'), 2 * L + 1);
      assert.equal(calls('ropeForward'), 2 * L);
      assert.equal(calls('ropeBackward'), 2 * L);
      assert.equal(calls('attentionForward'), L);
      assert.equal(calls('attentionBackward'), L);
      assert.equal(calls('swigluForward'), L);
      assert.equal(calls('swigluBackward'), L);
      assert.equal(calls('embeddingForward'), 1);
      assert.equal(calls('crossEntropyForward'), 1);
      assert.equal(calls('crossEntropyBackward'), 1);
      assert.equal(calls('adamwStep'), 0);
      // Forward GEMMs: q, k, v, o, w1, w3, w2 per block + the head; the backward at least twice as many.
      assert.ok(calls('gemm') >= 3 * (7 * L + 1), `gemm calls ${calls('gemm')}`);

      const groups = new Map(p.groups.map((g) => [g.group, g]));
      for (const g of ['gemm', 'attention', 'norms', 'activations', 'rope', 'embedding', 'loss']) {
        assert.ok(groups.get(g as never)!.seconds > 0, `${g} has time`);
      }
      assert.ok(!groups.has('optimizer'), 'groups never called are left out');
      assert.equal(groups.get('norms')!.calls, 4 * L + 2);
      const sum = p.groups.reduce((s, g) => s + g.seconds, 0);
      assert.ok(Math.abs(sum - p.opSeconds) < 1e-9);
      assert.ok(p.opSeconds <= p.wallSeconds, 'op time fits in the wall time');

      const table = formatProfileTable(p);
      assert.match(table, /^attention\s+\d+\.\d{3}\s+\d+\.\d\s+4\s/m);
      assert.ok(profileScalars(p)['profile/gemm_s'] > 0);

      prof.resetProfile();
      assert.equal(prof.profile().opSeconds, 0);
      assert.deepEqual(prof.profile().groups, []);
    });
  }
});

describe('distill run --profile', () => {
  // A tiny KD recipe as in test/train.test.ts: 100 paragraphs of the real corpus, stories260K teacher.
  const recipe = tinyRecipes('distill-profile-', {
    paragraphs: 100, seed: 3, train: '{steps: 3, batchSize: 2, seqLen: 16, lr: 0.01, checkpointEvery: 0}',
    eval: '{every: 0, maxWindows: 2, samples: {prompts: [], maxTokens: 1}}',
  }).recipe('kd');

  test('same losses as without --profile; profile.json and profile/* scalars written', async () => {
    const plain = await runRecipeFile({ recipePath: recipe, overrides: ['name=plain'] });
    const prof = await runRecipeFile({ recipePath: recipe, overrides: ['name=prof'], profile: true });
    assert.deepEqual(prof.loop.history.map((h) => h.loss), plain.loop.history.map((h) => h.loss));
    assert.equal(plain.profile, undefined);
    assert.ok(!existsSync(join(plain.runDir, 'profile.json')));

    const p = JSON.parse(readFileSync(join(prof.runDir, 'profile.json'), 'utf8')) as ProfileReport;
    assert.deepEqual(p, JSON.parse(JSON.stringify(prof.profile)));
    const g = new Map(p.groups.map((x) => [x.group, x]));
    // 3 steps x (teacher forward + student forward/backward) + the final eval: every block op ran.
    for (const name of ['gemm', 'attention', 'norms', 'activations', 'rope', 'embedding', 'optimizer']) {
      assert.ok((g.get(name as never)?.calls ?? 0) > 0, `${name} was called`);
    }
    // One student block: 1 attention forward + 1 backward per step (teacher and eval add forwards).
    assert.equal(p.ops.find((o) => o.op === 'attentionBackward')?.calls, 3);
    assert.ok(p.opSeconds > 0 && p.opSeconds <= p.wallSeconds);

    const file = readdirSync(prof.runDir).find((f) => f.startsWith('events.out.tfevents'))!;
    const tags = new Set(readTfEvents(join(prof.runDir, file)).flatMap((e) => e.values.map((v) => v.tag)));
    for (const t of ['profile/gemm_s', 'profile/attention_pct', 'profile/wall_s', 'profile/outside_ops_s', 'profile/op/attentionBackward_s', 'step_time/backward_ms']) assert.ok(tags.has(t), `tfevents has ${t}`);
    // the cheap always-on split is logged without --profile too; the per-op detail only with it
    const plainFile = readdirSync(plain.runDir).find((f) => f.startsWith('events.out.tfevents'))!;
    const plainTags = new Set(readTfEvents(join(plain.runDir, plainFile)).flatMap((e) => e.values.map((v) => v.tag)));
    assert.ok(plainTags.has('step_time/backward_ms') && !plainTags.has('profile/op/attentionBackward_s'));
    // the report keeps the per-op table
    const html = buildReportHtml([loadRun(prof.runDir)]);
    assert.match(html, /<h2>Time per op \(--profile\)<\/h2>/);
    assert.match(html, /<tr><td>attentionBackward<\/td><td>attention<\/td><td>[0-9.]+<\/td><td>[0-9.]+<\/td><td>3<\/td>/);
  });
});
