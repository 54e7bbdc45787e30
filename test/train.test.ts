// The training loop end to end on a tiny student: identical losses for the same recipe and
// seed, an interrupted run resumed to the same losses bit for bit, the tfevents file read back
// with every CRC checked, the run folder contract, and the recipe errors that need loading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRecipeFile, trainLines } from './helpers/run-recipe.js';
import { tinyRecipes } from './helpers/tiny-recipe.js';
import { readTfEvents } from '../src/io/tfevents.js';
import { saveCheckpoint } from '../src/io/checkpoint.js';
import { countParams, createModel, initParams, param } from '../src/model/index.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { createStudent } from '../src/train/student-init.js';
import { listCheckpoints } from '../src/train/train-state.js';
import { checkTrainingFits, trainingBytes } from '../src/train/memory-estimate.js';
import { Rng } from '../src/engine/rng.js';
import { selectBackend } from '../src/engine/select.js';

const data = join('..', 'shared', 'data');
// The first 200 paragraphs of the real corpus keep the test fast and the text real.
const { dir, recipe } = tinyRecipes('distill-train-', {
  paragraphs: 200, seed: 7, train: '{steps: 6, batchSize: 4, seqLen: 32, lr: 0.01, checkpointEvery: 3, schedule: {kind: cosine, warmup: 2}}',
  eval: '{every: 3, maxWindows: 8, samples: {prompts: ["Once upon a time"], maxTokens: 8}}',
});

const losses = (s: Awaited<ReturnType<typeof runRecipeFile>>) => s.loop.history.map((h) => h.loss);

test('same recipe and seed give identical losses; the run folder holds its contract files', async () => {
  const a = await runRecipeFile({ recipePath: recipe('det-a'), report: true });
  const b = await runRecipeFile({ recipePath: recipe('det-b') });
  assert.equal(a.loop.history.length, 6);
  assert.deepEqual(losses(a), losses(b));
  assert.ok(losses(a).every(Number.isFinite));
  assert.ok(a.loop.history[0].kd > 0 && a.loop.history[0].ce > 0);
  for (const f of ['recipe.resolved.yaml', 'environment.json', 'run.json', 'metrics.jsonl', 'samples.jsonl', 'eval.json', 'report.html']) {
    assert.ok(existsSync(join(a.runDir, f)), `${f} missing`);
  }
  const env = JSON.parse(readFileSync(join(a.runDir, 'environment.json'), 'utf8')) as { seed: number; backend: string };
  assert.equal(env.seed, 7);
  const ev = JSON.parse(readFileSync(join(a.runDir, 'eval.json'), 'utf8')) as { student: { valLoss: number; klToTeacher: number; top1Agreement: number } };
  assert.equal(ev.student.valLoss, a.student.valLoss);
  assert.ok(ev.student.klToTeacher > 0 && ev.student.top1Agreement >= 0 && ev.student.top1Agreement <= 1);
});

test('a different seed changes init and data order', async () => {
  const a = await runRecipeFile({ recipePath: recipe('seed-a') });
  const c = await runRecipeFile({ recipePath: recipe('seed-c'), overrides: ['seed=8'] });
  assert.notDeepEqual(losses(a), losses(c));
});

test('an interrupted run resumed from its checkpoint reproduces the uninterrupted losses exactly', async () => {
  const full = await runRecipeFile({ recipePath: recipe('res-full') });
  const part = await runRecipeFile({ recipePath: recipe('res-part'), stopAfterStep: 3 });
  assert.equal(part.loop.history.length, 3);
  assert.deepEqual(readdirSync(join(part.runDir, 'checkpoints')), ['step-000003']);
  // As if killed after logging step 4 (not checkpointed) and halfway through a line:
  appendFileSync(join(part.runDir, 'metrics.jsonl'), '{"step":4,"wall_time":1,"train/loss":9}\n{"step":5,"wall_ti');
  const rest = await runRecipeFile({ recipePath: recipe('res-part'), resume: true });
  assert.deepEqual(rest.loop.history.map((h) => h.step), [4, 5, 6]);
  assert.deepEqual([...losses(part), ...losses(rest)], losses(full));
  assert.equal(rest.student.valLoss, full.student.valLoss);
  // The resumed metrics.jsonl was cut back to step 3 first: its training lines are the uninterrupted
  // run's (timings aside; the stopped run's own end-of-run eval lines at step 3 stay, as written).
  assert.deepEqual(trainLines(rest.runDir), trainLines(full.runDir));
  // Resuming the finished run again writes nothing: its checkpoint is not deleted and re-saved.
  const ck = join(rest.runDir, 'checkpoints', 'step-000006', 'model.safetensors');
  const before = statSync(ck).ino;
  const again = await runRecipeFile({ recipePath: recipe('res-part'), resume: true });
  assert.equal(again.loop.history.length, 0);
  assert.equal(statSync(ck).ino, before);
  // A half-deleted older checkpoint (state.json alone) is not a checkpoint.
  mkdirSync(join(rest.runDir, 'checkpoints', 'step-000002'));
  writeFileSync(join(rest.runDir, 'checkpoints', 'step-000002', 'state.json'), '{}');
  assert.deepEqual(listCheckpoints(rest.runDir), [3, 6]); // the last two complete ones (keep 2)
});

test('an existing run folder is not overwritten without --overwrite or --resume', async () => {
  await runRecipeFile({ recipePath: recipe('exists') });
  await assert.rejects(() => runRecipeFile({ recipePath: recipe('exists') }), /run folder .*exists already|already exists; pass --resume/);
  const again = await runRecipeFile({ recipePath: recipe('exists'), overwrite: true });
  assert.equal(again.loop.history.length, 6);
});

test('the tfevents file reads back with every CRC verified and holds the logged scalars', async () => {
  const s = await runRecipeFile({ recipePath: recipe('tfe') });
  const file = readdirSync(s.runDir).find((f) => f.startsWith('events.out.tfevents'));
  assert.ok(file);
  const events = readTfEvents(join(s.runDir, file));
  const scalar = (tag: string) => events.flatMap((e) => e.values.filter((v) => v.tag === tag && v.simpleValue !== undefined).map((v) => ({ step: e.step, value: v.simpleValue! })));
  const train = scalar('train/loss');
  assert.deepEqual(train.map((x) => x.step), [1, 2, 3, 4, 5, 6]);
  train.forEach((x, i) => assert.equal(x.value, Math.fround(s.loop.history[i].loss)));
  for (const tag of ['train/kd_loss', 'train/ce_loss', 'train/lr', 'train/grad_norm', 'train/tokens_per_sec', 'mem/rss_mib', 'mem/peak_rss_mib', 'mem/heap_used_mib', 'step_time/teacher_ms', 'step_time/forward_ms', 'step_time/loss_ms', 'step_time/backward_ms', 'step_time/optimizer_ms', 'step_time/step_ms', 'eval/seconds', 'diversity/distinct_1', 'diversity/distinct_2', 'diversity/repetition_4', 'diversity/teacher_distinct_2', 'val/loss', 'val/kl_to_teacher', 'val/top1_agreement']) {
    assert.ok(scalar(tag).length > 0, `no ${tag}`);
  }
  assert.ok(events.some((e) => e.values.some((v) => v.tag === 'samples/0' && (v.text ?? '').startsWith('Once upon a time'))));
});

test('α = 1 trains on hard labels only and is marked as the baseline', async () => {
  const s = await runRecipeFile({ recipePath: recipe('ce', ''), overrides: ['loss.alpha=1'] });
  assert.equal(s.kind, 'baseline');
  assert.ok(s.loop.history.every((h) => h.kd === 0 && h.loss === h.ce));
  assert.ok(s.student.klToTeacher !== null, 'the teacher still scores the baseline');
});

test('a teacher whose vocabulary differs from the tokenizer is refused, naming both files', async () => {
  const cfg = { ...loadCheckpoint(join(data, 'stories260K', 'stories260K.bin')).config, vocabSize: 300 };
  const small = join(dir, 'teacher300.safetensors');
  saveCheckpoint(small, cfg, initParams(cfg, new Rng(1)));
  await assert.rejects(() => runRecipeFile({ recipePath: recipe('vocab'), overrides: [`teacher.path=${small}`] }),
    /teacher .*teacher300\.safetensors has a vocabulary of 300 but the run's tokenizer .*tok512\.bin \(512 pieces, sha256:[0-9a-f]+\) has 512: the teacher cannot score ids 300\.\.511/);
});

test('a student initialised from teacher layers [0, 2, 4] copies those blocks, embeddings and norms', async () => {
  const t = loadCheckpoint(join(data, 'stories260K', 'stories260K.bin'));
  const teacher = createModel(t.config, t.params);
  const s = createStudent({ kind: 'from-teacher', layers: [0, 2, 4], calibrationWindows: 64 }, { teacher, tokenizerVocab: 512, seqLen: 32, seed: 0, recipePath: 'r.yaml', microBatch: 4, be: selectBackend('ref') });
  assert.equal(s.config.nLayers, 3);
  assert.deepEqual(param(s, 'layers.1.wq'), param(teacher, 'layers.2.wq'));
  assert.deepEqual(param(s, 'layers.2.w2'), param(teacher, 'layers.4.w2'));
  assert.deepEqual(param(s, 'tok_embeddings'), param(teacher, 'tok_embeddings'));
  assert.deepEqual(param(s, 'norm'), param(teacher, 'norm'));
  assert.throws(() => createStudent({ kind: 'from-teacher', layers: [5], calibrationWindows: 64 }, { teacher, tokenizerVocab: 512, seqLen: 32, seed: 0, recipePath: 'r.yaml', microBatch: 4, be: selectBackend('ref') }),
    /key 'student\.layers': layer 5 does not exist; the teacher has layers 0\.\.4/);
});

test('a non-finite loss or gradient is never applied: stop keeps the last good checkpoint, skip counts and goes on', async () => {
  // train.lr=1e6 diverges within a few steps (the issue's B5 reproduction).
  await assert.rejects(() => runRecipeFile({ recipePath: recipe('nan-stop'), overrides: ['train.lr=1e6', 'train.checkpointEvery=1'] }),
    /training diverged at step \d+: loss .*gradient norm .*; the update was not applied and the last checkpoint is intact/);
  const stopDir = join(dir, 'runs', 'nan-stop');
  const steps = listCheckpoints(stopDir);
  assert.ok(steps.length >= 1, 'a checkpoint from before the divergence');
  const ck = loadCheckpoint(join(stopDir, 'checkpoints', `step-${String(steps.at(-1)).padStart(6, '0')}`, 'model.safetensors'));
  assert.ok(ck.params.every((v) => Number.isFinite(v)));
  const s = await runRecipeFile({ recipePath: recipe('nan-skip'), overrides: ['train.lr=1e6', 'train.nonFinite=skip'] });
  assert.equal(s.loop.history.length, 6);
  const last = readFileSync(join(s.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((m) => 'train/skipped_steps' in m).at(-1)!;
  assert.ok((last['train/skipped_steps'] as number) >= 1, `skipped ${last['train/skipped_steps']}`);
  assert.ok(loadCheckpoint(join(s.runDir, 'checkpoints', 'step-000006', 'model.safetensors')).params.every((v) => Number.isFinite(v)));
});

test('a student too big for this machine is refused by name before the run folder is touched; --overwrite keeps the old run then', async () => {
  await runRecipeFile({ recipePath: recipe('keep-me') });
  const ckDir = join(dir, 'runs', 'keep-me', 'checkpoints');
  const before = readdirSync(ckDir);
  // dim 8192 × 64 layers × hidden 32768: 5.4e10 parameters (the issue's Invalid-typed-array case).
  await assert.rejects(() => runRecipeFile({ recipePath: recipe('keep-me'), overwrite: true, overrides: ['student.dim=8192', 'student.nLayers=64', 'student.hiddenDim=32768', 'student.nHeads=64', 'student.nKvHeads=64'] }),
    /key 'student': dim 8192, nLayers 64, hiddenDim 32768, vocabulary 512 make [\d,]+ parameters; training needs about [\d.]+ GiB .* this machine has [\d.]+ GiB/);
  assert.deepEqual(readdirSync(ckDir), before, 'the earlier run is untouched');
  // The estimate itself: 16 bytes a parameter of state.
  const c = { family: 'llama', dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32, vocabSize: 512, maxSeqLen: 32, normEps: 1e-5, ropeTheta: 10000, ropeMode: 'interleaved', tiedEmbeddings: true, qkvBias: false } as const;
  assert.equal(trainingBytes(c, 4, 32).state, 16 * countParams(c));
  assert.throws(() => checkTrainingFits(c, 4, 32, 'r.yaml', 1000), /r\.yaml: key 'student'.* this machine has 0\.0 GiB/);
});

test('resume verifies checkpoints: a damaged newest one is set aside and training continues from the older, to the same result', async () => {
  const full = await runRecipeFile({ recipePath: recipe('dmg-full') });
  const run = await runRecipeFile({ recipePath: recipe('dmg') });
  const ckDir = join(run.runDir, 'checkpoints');
  assert.deepEqual(readdirSync(ckDir), ['step-000003', 'step-000006'], 'the last two are kept');
  const f = join(ckDir, 'step-000006', 'model.safetensors');
  const b = readFileSync(f);
  b[b.length - 100] ^= 0x40;
  writeFileSync(f, b);
  mkdirSync(join(ckDir, 'step-000004.tmp')); // a save killed halfway, earlier
  const rest = await runRecipeFile({ recipePath: recipe('dmg'), resume: true });
  assert.deepEqual(rest.loop.history.map((h) => h.step), [4, 5, 6]);
  assert.deepEqual(readdirSync(ckDir).sort(), ['step-000003', 'step-000006', 'step-000006.damaged']);
  assert.deepEqual(loadCheckpoint(join(ckDir, 'step-000006', 'model.safetensors')).params, loadCheckpoint(join(full.runDir, 'checkpoints', 'step-000006', 'model.safetensors')).params);
  assert.equal(rest.student.valLoss, full.student.valLoss);
});
