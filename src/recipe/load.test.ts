// Recipe loading: defaults fill in, overrides apply, and every bad recipe gets one error that
// names the file and the key path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRecipe, RecipeError, resolvedRecipeYaml } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'distill-recipe-'));
const corpus = join(dir, 'corpus.txt');
const tok = join(dir, 'tok.bin');
const teacher = join(dir, 'teacher.bin');
writeFileSync(corpus, 'a\n\nb\n');
writeFileSync(tok, 'x');
writeFileSync(teacher, 'x');

function recipeFile(body: string): string {
  const p = join(dir, `r${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(p, body);
  return p;
}

const good = `name: kd-test
data: {path: ${corpus}, tokenizer: ${tok}}
teacher: {kind: checkpoint, path: ${teacher}}
student: {kind: config, dim: 48, nLayers: 4, nHeads: 4, nKvHeads: 2, hiddenDim: 128}
train: {steps: 200}
`;

test('defaults are filled in and the resolved YAML round-trips', () => {
  const r = loadRecipe(recipeFile(good));
  assert.equal(r.loss.alpha, 0.5);
  assert.deepEqual(r.loss.kd, { kind: 'forward-kl' });
  assert.equal(r.train.batchSize, 32);
  assert.equal(r.train.lr, 5e-3);
  assert.deepEqual(r.train.schedule, { kind: 'cosine', warmup: 30, minRatio: 0.1 });
  const again = loadRecipe(recipeFile(resolvedRecipeYaml(r)));
  assert.deepEqual(again, r);
});

test('key.path=value overrides apply in order, values parsed as YAML', () => {
  const r = loadRecipe(recipeFile(good), ['train.steps=50', 'loss.kd={kind: jsd, beta: 0.25}', 'seed=3', 'seed=4']);
  assert.equal(r.train.steps, 50);
  assert.deepEqual(r.loss.kd, { kind: 'jsd', beta: 0.25 });
  assert.equal(r.seed, 4);
});

test('an unknown key is rejected with its full path', () => {
  const p = recipeFile(good.replace('hiddenDim: 128}', 'hiddenDim: 128, hidden_dim: 3}'));
  assert.throws(() => loadRecipe(p), (e: Error) => e instanceof RecipeError && e.message.includes(p) && e.message.includes("unknown key 'student.hidden_dim'"));
});

test('a wrong type is rejected with its key path', () => {
  const p = recipeFile(good.replace('steps: 200', 'steps: "many"'));
  assert.throws(() => loadRecipe(p), /key 'train\.steps': .*expected number/i);
});

test('an unknown loss kind lists the kinds there are', () => {
  assert.throws(() => loadRecipe(recipeFile(good), ['loss.kd.kind=kl']), /key 'loss\.kd\.kind'.*'forward-kl' \| 'reverse-kl' \| 'jsd'/);
});

test('a missing file is named with its key', () => {
  const p = recipeFile(good.replace(teacher, join(dir, 'nope.bin')));
  assert.throws(() => loadRecipe(p), new RegExp(`key 'teacher\\.path': file not found: .*nope\\.bin`));
  const onnx = recipeFile(good.replace(`kind: checkpoint, path: ${teacher}`, `kind: onnx, path: ${join(dir, 'nope.onnx')}`));
  assert.throws(() => loadRecipe(onnx), new RegExp(`key 'teacher\\.path': file not found: .*nope\\.onnx`));
  assert.deepEqual(loadRecipe(recipeFile(good.replace('kind: checkpoint', 'kind: onnx'))).teacher, { kind: 'onnx', path: teacher });
});

test('a missing recipe, bad YAML and a non-mapping are each one clear error', () => {
  assert.throws(() => loadRecipe(join(dir, 'absent.yaml')), /recipe file not found: .*absent\.yaml/);
  assert.throws(() => loadRecipe(recipeFile('name: [unclosed')), /not valid YAML/);
  assert.throws(() => loadRecipe(recipeFile('- a\n- b\n')), /a recipe is a YAML mapping/);
});

test('cross-field rules: gradAccum must divide batchSize; nKvHeads must divide nHeads', () => {
  assert.throws(() => loadRecipe(recipeFile(good), ['train.gradAccum=5']), /key 'train\.gradAccum': 5 does not divide train\.batchSize 32/);
  assert.throws(() => loadRecipe(recipeFile(good), ['student.nKvHeads=3']), /key 'student\.nKvHeads': 3 does not divide student\.nHeads 4/);
});

test('a malformed override is refused', () => {
  assert.throws(() => loadRecipe(recipeFile(good), ['train.steps']), /override 'train\.steps': expected key\.path=value/);
  assert.throws(() => loadRecipe(recipeFile(good), ['name.x=1']), /'name' is a string, not a section/);
});

test('a llama-cpp teacher: topK defaults to 64, a bad topK or a missing file is refused with its key', () => {
  const gguf = join(dir, 'teacher.gguf');
  writeFileSync(gguf, 'x');
  const body = good.replace(`{kind: checkpoint, path: ${teacher}}`, `{kind: llama-cpp, path: ${gguf}}`);
  assert.deepEqual(loadRecipe(recipeFile(body)).teacher, { kind: 'llama-cpp', path: gguf, topK: 64 });
  assert.throws(() => loadRecipe(recipeFile(body), ['teacher.topK=0']), /key 'teacher\.topK'/);
  assert.throws(() => loadRecipe(recipeFile(body), [`teacher.path=${join(dir, 'none.gguf')}`]), /key 'teacher\.path': file not found: .*none\.gguf/);
});

test('α outside [0, 1] and a temperature ≤ 0 are refused at load, naming the key, schedules included', () => {
  const p = recipeFile(good);
  assert.throws(() => loadRecipe(p, ['loss.alpha=2']), /key 'loss\.alpha': must lie in \[0, 1\], got 2/);
  assert.throws(() => loadRecipe(p, ['loss.temperature=0']), /key 'loss\.temperature': must lie in \(0, 100\], got 0/);
  assert.throws(() => loadRecipe(p, ['loss.alpha={kind: linear, start: 0, end: 1.5}']), /key 'loss\.alpha': must lie in \[0, 1\], got 1\.5/);
  assert.deepEqual(loadRecipe(p, ['loss.alpha={kind: linear, start: 0, end: 1}']).loss.alpha, { kind: 'linear', start: 0, end: 1 });
});
