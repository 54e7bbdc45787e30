// `distill export` (src/cli/export.ts): a Hugging Face folder that our loader reads back bit-exact
// with the tokenizer files transformers reads, llama2.c files run.c reads (checked against the
// real stories260K.bin), half-split models permuted to llama2.c's interleaved pairs, and every
// refusal made before anything is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../src/data/index.js';
import { runExport } from '../src/cli/export.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { writeHfFolder } from '../src/io/hf.js';
import { readLlama2c } from '../src/io/llama2c.js';
import { type ModelConfig, createActivations, createModel, forward, initParams } from '../src/model/index.js';
import { Rng } from '../src/engine/rng.js';
import { selectBackend } from '../src/engine/select.js';
import { runRecipeFile } from './helpers/run-recipe.js';

const M656 = '../shared/data/tinystories-656k';
const STORIES = '../shared/data/stories260K/stories260K.bin';
const tmp = mkdtempSync(join(tmpdir(), 'distill-export-'));
const flags = (format: string, out: string, o: Record<string, unknown> = {}) => ({ format, out, llama2cVersion: 'legacy', ...o });

test('hf: the 656K folder exported reads back bit-exact, with its tokenizer, special tokens and EOS ids', () => {
  const out = join(tmp, 'hf-656k');
  const lines = runExport(M656, flags('hf', out));
  assert.match(lines[0], /hf-656k: hf from \.\.\/shared\/data\/tinystories-656k/);
  assert.deepEqual(readdirSync(out).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
  const a = loadCheckpoint(M656), b = loadCheckpoint(out);
  assert.deepEqual(b.config, a.config);
  assert.deepEqual(b.params, a.params);
  assert.deepEqual(b.eosIds, [2]);
  const ta = loadTokenizer(M656), tb = loadTokenizer(out);
  assert.equal(tb.identity(), ta.identity());
  assert.deepEqual([tb.bosId, tb.eosId, tb.padId, tb.unkId], [1, 2, 0, 0]);
  const gen = JSON.parse(readFileSync(join(out, 'generation_config.json'), 'utf8'));
  assert.deepEqual([gen.bos_token_id, gen.eos_token_id, gen.pad_token_id], [1, 2, 0]);
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual([cfg.architectures, cfg.tie_word_embeddings, cfg.bos_token_id, cfg.eos_token_id], [['LlamaForCausalLM'], true, 1, 2]);
});

test('llama2c: stories260K written back is run.c\'s file: same header and weights, rope tables to 1e-6', () => {
  const out = join(tmp, 'stories.bin');
  runExport(STORIES, flags('llama2c', out));
  const a = readFileSync(STORIES), b = readFileSync(out);
  assert.equal(b.length, a.length);
  // header + weights up to the freq_cis tables (seq_len 512 x head_size/2 4 x 2 float32 at the end
  // of the legacy layout) are byte-identical; the tables are llama2.c's float32 cos/sin, which run.c ignores.
  const tables = 512 * 4 * 2 * 4;
  const firstDiff = a.findIndex((x, i) => x !== b[i]);
  const tableStart = 28 + 4 * (512 * 64 + 5 * 64 + 5 * 64 * 64 * 2 + 5 * 32 * 64 * 2 + 5 * 64 + 5 * 172 * 64 * 3 + 64);
  assert.equal(a.length - tableStart, tables);
  assert.ok(firstDiff === -1 || firstDiff >= tableStart, `first differing byte ${firstDiff}, tables start at ${tableStart}`);
  const fa = new Float32Array(a.buffer.slice(a.byteOffset + tableStart, a.byteOffset + a.length));
  const fb = new Float32Array(b.buffer.slice(b.byteOffset + tableStart, b.byteOffset + b.length));
  let maxDiff = 0;
  for (let i = 0; i < fa.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fa[i] - fb[i]));
  assert.ok(maxDiff < 1e-6, `rope tables differ by ${maxDiff}`);
  const v1 = join(tmp, 'stories-v1.bin');
  runExport(STORIES, flags('llama2c', v1, { llama2cVersion: '1' }));
  const back = readLlama2c(v1);
  assert.equal(back.version, 1);
  assert.deepEqual(back.params, readLlama2c(STORIES).params);
});

test('llama2c: a half-split (Hugging Face) model gets its q/k rows interleaved and computes the same logits', () => {
  const c: ModelConfig = {
    family: 'llama', dim: 32, hiddenDim: 48, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 40, maxSeqLen: 16,
    normEps: 1e-5, ropeTheta: 10000, ropeMode: 'half', tiedEmbeddings: false, qkvBias: false,
  };
  const p = initParams(c, new Rng(11));
  const dir = join(tmp, 'half-src');
  writeHfFolder(dir, c, p);
  const out = join(tmp, 'half.bin');
  runExport(dir, flags('llama2c', out, { llama2cVersion: '1' }));
  const back = readLlama2c(out);
  assert.equal(back.config.ropeMode, 'interleaved');
  const be = selectBackend('ref');
  const tokens = Int32Array.from([1, 5, 9, 13, 2, 30, 7, 21]);
  const run = (cc: ModelConfig, pp: Float32Array) => forward(be, createModel(cc, pp), createActivations(cc, 1, 8), tokens, 1, 8).slice();
  const want = run(c, p), got = run(back.config, back.params);
  let maxDiff = 0;
  for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(want[i] - got[i]));
  assert.ok(maxDiff < 1e-5, `half vs interleaved logits differ by ${maxDiff}`);
});

test('refusals come before any file is written: format, what the format cannot hold, missing tokenizer, existing --out', () => {
  const out = join(tmp, 'refused');
  assert.throws(() => runExport(M656, flags('safetensors', out)), /--format must be one of hf, llama2c, got 'safetensors'/);
  assert.throws(() => runExport(M656, flags('llama2c', out)), /cannot export \.\.\/shared\/data\/tinystories-656k as llama2c: llama2\.c fixes normEps 1e-5 and ropeTheta 10000; got 0\.000001 and 10000/);
  assert.throws(() => runExport(STORIES, flags('hf', out)), /cannot export .*stories260K\.bin as hf: a Hugging Face folder needs the tokenizer: give --tokenizer/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(tmp).filter((n) => n.includes('.tmp-')), []);
  const exists = join(tmp, 'hf-656k-again');
  runExport(M656, flags('hf', exists));
  assert.throws(() => runExport(M656, flags('hf', exists)), /hf-656k-again already exists; pass --overwrite to replace it/);
  runExport(M656, flags('hf', exists, { overwrite: true }));
  assert.deepEqual(loadCheckpoint(exists).params, loadCheckpoint(M656).params);
});

test('a run folder exports its newest checkpoint with its recipe\'s tokenizer', async () => {
  const data = join('..', 'shared', 'data');
  const corpus = join(tmp, 'stories.txt');
  writeFileSync(corpus, readFileSync(join(data, 'tinystories', 'stories.txt'), 'utf8').split(/\n\s*\n/).slice(0, 100).join('\n\n'));
  const recipePath = join(tmp, 'exp.yaml');
  writeFileSync(recipePath, `name: exp
outDir: ${join(tmp, 'runs')}
seed: 3
data: {path: ${corpus}, tokenizer: ${join(data, 'stories260K', 'tok512.bin')}, cacheDir: ${join(tmp, 'cache')}}
teacher: {kind: none}
student: {kind: config, dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32, maxSeqLen: 32}
train: {steps: 4, batchSize: 2, seqLen: 16, lr: 0.01, checkpointEvery: 2}
eval: {every: 4, maxWindows: 2}
monitor: {logEvery: 1, progress: false}
`);
  await runRecipeFile({ recipePath });
  const runDir = join(tmp, 'runs', 'exp');
  const out = join(tmp, 'exp.bin');
  const lines = runExport(runDir, flags('llama2c', out, { llama2cVersion: '1' }));
  assert.match(lines[0], /exp\.bin: llama2c \(v1\) from run .*runs\/exp \(step 4\)/);
  assert.deepEqual(readLlama2c(out).params, loadCheckpoint(join(runDir, 'checkpoints', 'step-000004', 'model.safetensors')).params);
  assert.throws(() => runExport(join(tmp, 'runs'), flags('llama2c', join(tmp, 'x.bin'))), /runs: folder has neither config\.json nor model\.safetensors/);
});
