// Training from a teacher store: a store with k = V in f32 reproduces online KD (losses within
// 1e-5 per step, same eval), and a store is refused when its tokenizer, teacher, corpus or
// completeness do not fit the recipe, or when a shard has a flipped byte (training and verify).
// The stories260K teacher and a tiny student on the ref backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCorpusShards, loadTokenizer } from '../src/data/index.js';
import { Rng } from '../src/engine/rng.js';
import { selectBackend } from '../src/engine/select.js';
import { saveCheckpoint } from '../src/io/checkpoint.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { createModel, initParams } from '../src/model/index.js';
import { corpusIdentity } from '../src/store/identity.js';
import { fillStore } from '../src/teacher/cache-job.js';
import { inspectStore } from '../src/store/verify.js';
import { ModelTeacher } from '../src/teacher/model-teacher.js';
import { StoreTeacher } from '../src/teacher/store-teacher.js';
import { runRecipeFile } from './helpers/run-recipe.js';
import { twoDocCorpus } from './helpers/two-docs.js';

const data = join('..', 'shared', 'data');
const tokPath = join(data, 'stories260K', 'tok512.bin');
const dir = mkdtempSync(join(tmpdir(), 'distill-store-train-'));
const tok = loadTokenizer(tokPath);

// Two documents (helpers/two-docs.ts): every training window is the train paragraph from its start.
const { corpus } = twoDocCorpus(dir, tok);
const cacheDir = join(dir, 'cache');
const shards = loadCorpusShards(corpus, tok, { cacheDir, valFraction: 0.5 });
const T = shards.train.tokens.length - 1;

// The real stories260K teacher (a random one is near-uniform and would leave the KD term ~0).
const teacherPath = join(data, 'stories260K', 'stories260K.bin');
const cfg = { ...loadCheckpoint(teacherPath).config, dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32 };
const otherTeacher = join(dir, 'other.safetensors');
saveCheckpoint(otherTeacher, cfg, initParams(cfg, new Rng(22)));

async function makeStore(out: string, k: number, encoding: 'f32' | 'q6'): Promise<void> {
  const c = loadCheckpoint(teacherPath);
  const teacher = new ModelTeacher(selectBackend('ref'), createModel(c.config, c.params), 2, T, `distill ${teacherPath}`);
  await fillStore({
    dir: out, teacher, tokenizerIdentity: tok.identity(), vocabSize: tok.vocabSize,
    train: shards.train.tokens, val: shards.val.tokens, corpusSource: corpus, k, topP: 1, temperature: 1, encoding, context: T, shardPositions: T, batch: 2,
  });
}
const full = join(dir, 'full');
await makeStore(full, tok.vocabSize, 'f32');

function recipe(name: string, teacher: string, extra = '', backend = 'ref'): string {
  const p = join(dir, `${name}.yaml`);
  writeFileSync(p, `name: ${name}
outDir: ${join(dir, 'runs')}
seed: 3
backend: ${backend}
data: {path: ${corpus}, tokenizer: ${tokPath}, cacheDir: ${cacheDir}, validFraction: 0.5}
teacher: ${teacher}
student: {kind: config, dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32}
train: {steps: 5, batchSize: 2, seqLen: ${T}, lr: 0.01, checkpointEvery: 0, schedule: {kind: cosine, warmup: 1}}
eval: {every: 0, samples: {prompts: ["Once upon a time"], maxTokens: 4}}
monitor: {logEvery: 1, progress: false}
${extra}`);
  return p;
}

let nativeAvailable = true;
try { selectBackend('native'); } catch { nativeAvailable = false; }

for (const backend of ['ref', 'native']) {
  test(`${backend}: a k = V f32 store reproduces online KD: every step's losses within 1e-5, same eval`, { skip: backend === 'native' && !nativeAvailable ? 'native addon not built' : false }, async () => {
    assert.ok(T >= 59 && shards.val.tokens.length >= T + 1, `T = ${T}, val ${shards.val.tokens.length} tokens`);
    const online = await runRecipeFile({ recipePath: recipe(`online-${backend}`, `{kind: checkpoint, path: ${teacherPath}}`, '', backend) });
    const stored = await runRecipeFile({ recipePath: recipe(`stored-${backend}`, `{kind: store, path: ${full}, expect: ${teacherPath}}`, '', backend) });
    assert.equal(stored.loop.history.length, 5);
    for (let i = 0; i < 5; i++) {
      const o = online.loop.history[i], s = stored.loop.history[i];
      for (const key of ['loss', 'ce', 'kd'] as const) assert.ok(Math.abs(o[key] - s[key]) <= 1e-5, `step ${i + 1} ${key}: online ${o[key]}, store ${s[key]}`);
    }
    assert.ok(online.loop.history[0].kd > 0.01, 'the KD term is active');
    assert.ok(Math.abs(online.student.valLoss - stored.student.valLoss) <= 1e-5);
    assert.ok(Math.abs(online.student.klToTeacher! - stored.student.klToTeacher!) <= 1e-5, `KL ${online.student.klToTeacher} vs ${stored.student.klToTeacher}`);
    assert.equal(online.student.top1Agreement, stored.student.top1Agreement);
    // a different temperature is applied after truncation; at k = V that is the online temperature too
    const o2 = await runRecipeFile({ recipePath: recipe(`online-t2-${backend}`, `{kind: checkpoint, path: ${teacherPath}}`, 'loss: {temperature: 2}', backend) });
    const s2 = await runRecipeFile({ recipePath: recipe(`stored-t2-${backend}`, `{kind: store, path: ${full}}`, 'loss: {temperature: 2}', backend) });
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(o2.loop.history[i].loss - s2.loop.history[i].loss) <= 1e-5, `T=2 step ${i + 1}`);
  });
}

test('a lossy truncated store (k = 8, q6) trains under each tail mode and is over 50x smaller than k = V f32', async () => {
  const small = join(dir, 'k8');
  await makeStore(small, 8, 'q6');
  const s = await runRecipeFile({ recipePath: recipe('stored-k8', `{kind: store, path: ${small}}`) });
  assert.ok(s.loop.history.every((h) => Number.isFinite(h.loss) && h.kd > 0));
  assert.ok(inspectStore(small, true).bytesPerToken < inspectStore(full, true).bytesPerToken / 50);
  // the three tail treatments all train from the same store and give different KD terms
  const kd: number[] = [];
  for (const tail of ['ignore', 'uniform']) kd.push((await runRecipeFile({ recipePath: recipe(`stored-k8-${tail}`, `{kind: store, path: ${small}}`, `loss: {teacher: {tail: ${tail}}}`) })).loop.history[0].kd);
  assert.ok(kd.every((v) => Number.isFinite(v) && v > 0), `${kd}`);
  assert.ok(new Set([s.loop.history[0].kd, ...kd]).size === 3, `bucket/ignore/uniform KD at step 1: ${[s.loop.history[0].kd, ...kd]}`);
});

test('a store from another teacher, tokenizer or corpus, or an incomplete one, is refused with a clear error', async () => {
  await assert.rejects(() => runRecipeFile({ recipePath: recipe('wrong-teacher', `{kind: store, path: ${full}, expect: ${otherTeacher}}`) }),
    /teacher store .*full was made by teacher distill .*stories260K\.bin \(sha256:[0-9a-f]+\), not by .*other\.safetensors/);
  assert.throws(() => new StoreTeacher(full, { train: shards.train.tokens, val: shards.val.tokens }, {
    tokenizerIdentity: 'sha256:another', tokenizerSource: 'other.model', vocabSize: 512, corpusIdentity: corpusIdentity(shards.train.tokens, shards.val.tokens),
  }), /was made with tokenizer sha256:[0-9a-f]+, but the recipe's tokenizer other\.model is sha256:another/);
  const otherCorpus = join(dir, 'other.txt');
  writeFileSync(otherCorpus, readFileSync(corpus, 'utf8').replace(/^\S+/, 'Zebra')); // another first word: another token stream
  await assert.rejects(() => runRecipeFile({ recipePath: recipe('wrong-corpus', `{kind: store, path: ${full}}`), overrides: [`data.path=${otherCorpus}`] }),
    /was made from token stream sha256:[0-9a-f]+, but the recipe's data tokenizes to sha256:[0-9a-f]+/);
  await assert.rejects(() => runRecipeFile({ recipePath: recipe('store-topk', `{kind: store, path: ${full}}`, 'loss: {teacher: {topK: 4}}') }),
    /loss\.teacher\.topK \(4\) cannot apply to a stored teacher/);
  const partial = join(dir, 'partial');
  cpSync(full, partial, { recursive: true });
  rmSync(join(partial, 'shard-00001.dkd'));
  await assert.rejects(() => runRecipeFile({ recipePath: recipe('partial', `{kind: store, path: ${partial}}`) }), /is incomplete: 1 of \d+ shards missing \(first: shard-00001\.dkd\)/);
});

test('a shard with one flipped byte is caught by store verify and by training', async () => {
  const bad = join(dir, 'flipped');
  cpSync(full, bad, { recursive: true });
  const f = join(bad, 'shard-00000.dkd');
  const bytes = readFileSync(f);
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  writeFileSync(f, bytes);
  const rep = inspectStore(bad, true);
  assert.deepEqual(rep.corrupt.map((c) => c.file), ['shard-00000.dkd']);
  const v = spawnSync('node', ['dist/src/cli/main.js', 'store', 'verify', bad], { encoding: 'utf8' });
  assert.equal(v.status, 1);
  assert.match(v.stdout, /CORRUPT shard-00000\.dkd: .*checksum mismatch/);
  assert.match(v.stdout, /integrity: FAILED \(1 corrupt, 0 missing\)/);
  await assert.rejects(() => runRecipeFile({ recipePath: recipe('flipped', `{kind: store, path: ${bad}}`) }), /shard-00000\.dkd: checksum mismatch/);
  assert.ok(readdirSync(full).includes('store.json'));
});
