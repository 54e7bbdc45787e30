// Cross-tokenizer training end to end (recipe loss.crossTokenizer): a tok512 student learns from
// TinyStories-656K (a 2,048-piece tokenizer). A vocabulary mismatch without the key stays the
// clear error; every teacher kind trains (HF folder and GGUF checkpoints, ONNX, llama.cpp, an
// http server, an offline store cached with the teacher's tokenizer), kinds that give the same
// distribution give the same KD; a store with every id in f32 reproduces the online teacher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../src/data/index.js';
import { loadLlamaCpp } from '../src/teacher/llama-cpp-runtime.js';
import { TeacherError } from '../src/teacher/teacher.js';
import { RunError } from '../src/train/run.js';
import { runRecipeFile } from './helpers/run-recipe.js';
import { twoDocCorpus } from './helpers/two-docs.js';
import { startServe } from './helpers/serve-child.js';

const data = join('..', 'shared', 'data');
const T656 = join(data, 'tinystories-656k');
const dir = mkdtempSync(join(tmpdir(), 'distill-cross-'));
const cli = join('dist', 'src', 'cli', 'main.js');
const tok = loadTokenizer(join(data, 'stories260K', 'tok512.bin'));

// Two documents (helpers/two-docs.ts): every training window is the train paragraph A from its
// start (the window a store's teacher context and the online teacher then share exactly).
const { corpus, trainText } = twoDocCorpus(dir, tok);
const T = tok.encode(trainText, { bos: true }).length - 1;

// A student checkpoint every run starts from, so that runs differ only in their teacher (a fresh
// student takes norms from a teacher it can load, which ONNX and llama.cpp teachers are not).
function recipe(name: string, teacher: string, loss: string, student = `{kind: checkpoint, path: ${join(dir, 'runs', 'init', 'checkpoints', 'step-000001')}}`): string {
  const p = join(dir, `${name}.yaml`);
  writeFileSync(p, `name: ${name}
outDir: ${join(dir, 'runs')}
seed: 3
backend: ref
data: {path: ${corpus}, tokenizer: ${join(data, 'stories260K', 'tok512.bin')}, cacheDir: ${join(dir, 'cache')}, validFraction: 0.5}
teacher: ${teacher}
student: ${student}
loss: ${loss}
train: {steps: 2, batchSize: 1, seqLen: ${T}, checkpointEvery: 0}
eval: {every: 0, samples: {prompts: [Once], maxTokens: 4}}
monitor: {logEvery: 1, progress: false, tensorboard: false}
`);
  return p;
}
const span = (extra = '') => `{alpha: 0.5, crossTokenizer: {method: span${extra}}}`;
await runRecipeFile({ recipePath: recipe('init', '{kind: none}', '{alpha: 1}', '{kind: config, dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32}'), overwrite: true, overrides: ['train.steps=1'] });
const kd = async (name: string, teacher: string, loss = span()) =>
  (await runRecipeFile({ recipePath: recipe(name, teacher, loss), overwrite: true })).loop.history.map((h) => h.kd);

test('a teacher with another vocabulary and no loss.crossTokenizer is refused, naming the way out', async () => {
  await assert.rejects(runRecipeFile({ recipePath: recipe('no-cross', `{kind: checkpoint, path: ${T656}}`, '{alpha: 0.5}'), overwrite: true }),
    (e: Error) => e instanceof TeacherError && /another vocabulary/.test(e.message) && /loss\.crossTokenizer/.test(e.message));
});

test('what cannot apply across tokenizers is refused by key', async () => {
  await assert.rejects(runRecipeFile({ recipePath: recipe('no-mse', `{kind: checkpoint, path: ${T656}}`, '{alpha: 0.5, kd: {kind: mse}, crossTokenizer: {method: uld}}'), overwrite: true }),
    (e: Error) => e instanceof RunError && /'loss.kd'/.test(e.message));
  await assert.rejects(runRecipeFile({ recipePath: recipe('no-topk', `{kind: checkpoint, path: ${T656}}`, '{alpha: 0.5, teacher: {topK: 8}, crossTokenizer: {method: uld}}'), overwrite: true }),
    (e: Error) => e instanceof RunError && /'loss.teacher'/.test(e.message));
  await assert.rejects(runRecipeFile({ recipePath: recipe('no-tok', '{kind: http, url: "http://127.0.0.1:9", model: x}', span()), overwrite: true }),
    (e: Error) => e instanceof TeacherError && /loss\.crossTokenizer\.teacherTokenizer/.test(e.message));
});

const online = await kd('hf', `{kind: checkpoint, path: ${T656}}`);

test('each method trains with the HF-folder teacher: a positive KD term that falls', async () => {
  for (const method of ['span', 'uld', 'exact-map']) {
    const h = method === 'span' ? online : await kd(`hf-${method}`, `{kind: checkpoint, path: ${T656}}`, `{alpha: 0.5, crossTokenizer: {method: ${method}}}`);
    assert.equal(h.length, 2);
    assert.ok(h[0] > 0 && Number.isFinite(h[0]), `${method}: ${h}`);
    assert.ok(h[1] < h[0], `${method}: KD ${h[0]} -> ${h[1]} after one step`);
  }
});

test('GGUF (our engine) and ONNX teachers give the online teacher\'s KD', async () => {
  execFileSync('node', [cli, 'export', T656, '--format', 'gguf', '--out', join(dir, '656k.gguf')]);
  execFileSync('node', [cli, 'export', T656, '--format', 'onnx', '--out', join(dir, '656k-onnx')]);
  const gguf = await kd('gguf', `{kind: checkpoint, path: ${join(dir, '656k.gguf')}}`);
  const onnx = await kd('onnx', `{kind: onnx, path: ${join(dir, '656k-onnx')}}`);
  // f32 everywhere; onnxruntime's kernels round differently (logits agree to ~1e-5)
  for (let i = 0; i < 2; i++) {
    assert.ok(Math.abs(gguf[i] - online[i]) < 1e-5 * online[i], `gguf ${gguf} vs ${online}`);
    assert.ok(Math.abs(onnx[i] - online[i]) < 1e-4 * online[i], `onnx ${onnx} vs ${online}`);
  }
});

const llamaSkip = await loadLlamaCpp('test/cross-tokenizer-train.test.ts').then(async (r) => { await r.llama.dispose(); return false; }, (e: Error) => `node-llama-cpp cannot load here: ${e.message}`);
test('a llama.cpp teacher (GGUF, its tokenizer from the file) gives the online teacher\'s KD', { skip: llamaSkip }, async () => {
  const gguf = join(dir, 'l.gguf');
  execFileSync('node', [cli, 'export', T656, '--format', 'gguf', '--out', gguf]);
  const l = await kd('llama-cpp', `{kind: llama-cpp, path: ${gguf}}`);
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(l[i] - online[i]) < 1e-3 * online[i], `llama-cpp ${l} vs ${online}`);
});

test('an http teacher (distill serve) trains with the tokenizer named; its top-k rows give a KD of their own', async () => {
  const server = await startServe([T656]);
  try {
    const h = await kd('http', `{kind: http, url: "${server.url}", model: tinystories-656k}`, span(`, teacherTokenizer: ${T656}`));
    assert.ok(h[0] > 0 && Number.isFinite(h[0]) && h[1] < h[0], `http ${h}`);
  } finally {
    await server.stop();
  }
});

test('a store cached with the teacher\'s tokenizer records it; with every id in f32 it gives the online KD', async () => {
  const store = join(dir, 'store');
  const teacherLen = loadTokenizer(T656).encode(trainText, { bos: true }).length;
  // the recipe gives the data settings (validFraction 0.5, the shard cache); --tokenizer the teacher's
  execFileSync('node', [cli, 'cache', '--recipe', recipe('cache', `{kind: checkpoint, path: ${T656}}`, '{alpha: 0.5}'), '--tokenizer', T656, '--k', '2048', '--encoding', 'f32',
    '--context', String(teacherLen), '--shard-positions', String(teacherLen), '--out', store, '--no-progress', '--backend', 'ref']);
  assert.equal(JSON.parse(readFileSync(join(store, 'store.json'), 'utf8')).tokenizerSource, T656);
  const s = await kd('store', `{kind: store, path: ${store}}`);
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(s[i] - online[i]) < 1e-5 * online[i], `store ${s} vs ${online}`);
});
