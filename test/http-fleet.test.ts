// Scale-out: three `distill serve` processes on loopback are the fleet of one http teacher; a
// store is cached from them — half in this process (one server SIGKILLed after the third shard),
// half by a `distill cache --recipe --shards` child — and must equal the store a local checkpoint
// teacher makes (same top-k ids, log-probs within the f32 store's rounding). A fleet server
// speaking another tokenizer is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCorpusShards, loadTokenizer } from '../src/data/index.js';
import { selectBackend } from '../src/engine/select.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { createModel } from '../src/model/index.js';
import { StoreReader } from '../src/store/store-reader.js';
import { fillStore } from '../src/teacher/cache-job.js';
import { openHttpTeacher, type HttpTeacherSpec } from '../src/teacher/http-teacher.js';
import { ModelTeacher } from '../src/teacher/model-teacher.js';
import { startServe, STORIES, TOK512 } from './helpers/serve-child.js';

const dir = mkdtempSync(join(tmpdir(), 'distill-http-fleet-'));
const corpus = join(dir, 'stories.txt');
// The first 30 paragraphs of the real corpus: ~2,700 tokens, ~40 shards of 64 positions.
writeFileSync(corpus, readFileSync('../shared/data/tinystories/stories.txt', 'utf8').split(/\n\s*\n/).slice(0, 30).join('\n\n'));
const C = 32, K = 8, SHARD = 64, BATCH = 6;
const tok = loadTokenizer(TOK512);
const cacheDir = join(dir, 'shards');
const shards = loadCorpusShards(corpus, tok, { cacheDir });
const fleet = await Promise.all([0, 1, 2].map(() => startServe()));
after(() => Promise.all(fleet.map((s) => s.stop('SIGKILL'))));
const spec: HttpTeacherSpec = { kind: 'http', urls: fleet.map((s) => s.url), model: 'stories260K.bin', protocol: 'vllm', topK: K, concurrency: 2, timeoutMs: 60_000, retries: 5 };
const common = { tokenizerIdentity: tok.identity(), vocabSize: tok.vocabSize, train: shards.train.tokens, val: shards.val.tokens, corpusSource: corpus, k: K, topP: 1, temperature: 1, encoding: 'f32' as const, context: C, shardPositions: SHARD, batch: BATCH };

test('a fleet of three servers, one killed mid-cache, and a --shards child fill the store a local teacher makes', async () => {
  const c = loadCheckpoint(STORIES);
  const local = new ModelTeacher(selectBackend(), createModel(c.config, c.params), BATCH, C, `llama2c ${STORIES}`, 'fp32', tok.identity());
  const reference = join(dir, 'reference');
  const ref = await fillStore({ dir: reference, teacher: local, ...common });
  const n = ref.manifest.shards.length, half = Math.floor(n / 2);
  assert.ok(n >= 20, `${n} shards`);

  const out = join(dir, 'fleet');
  const teacher = await openHttpTeacher(spec, { tokenizer: tok, probe: shards.train.tokens, source: 'test', pool: { backoffMs: 10, reviveMs: 60_000 } });
  assert.equal(teacher.identity, local.identity, 'distill serve reports the model identity a local teacher has');
  let written = 0, killed: Promise<number | null> | null = null;
  const mine = await fillStore({ dir: out, teacher, ...common, shardRange: [0, half], onShard: () => { if (++written === 3) killed = fleet[1].stop('SIGKILL'); } });
  assert.equal(mine.written, half);
  assert.equal(await killed, null, 'the second server was killed by SIGKILL');

  // the other half by a separate process, through the CLI and a recipe naming the live servers
  const recipe = join(dir, 'fleet.yaml');
  writeFileSync(recipe, `name: fleet
data: {path: ${corpus}, tokenizer: ${TOK512}, cacheDir: ${cacheDir}}
teacher: {kind: http, urls: [${fleet[0].url}, ${fleet[2].url}], model: stories260K.bin, topK: ${K}}
student: {kind: config, dim: 16, nLayers: 1, nHeads: 2, hiddenDim: 32}
train: {steps: 1, seqLen: ${C}}
`);
  const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'cache', '--recipe', recipe, '--out', out, '--k', String(K), '--encoding', 'f32',
    '--shard-positions', String(SHARD), '--batch', String(BATCH), '--shards', `${half}:${n}`, '--no-progress'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`this run: ${n - half} shards written`));

  const a = new StoreReader(reference), b = new StoreReader(out);
  assert.deepEqual(b.missingShards(), []);
  const P = shards.train.tokens.length + shards.val.tokens.length;
  const ia = new Int32Array(P * K), la = new Float32Array(P * K), ta = new Float32Array(P);
  const ib = new Int32Array(P * K), lb = new Float32Array(P * K), tb = new Float32Array(P);
  a.readRows(ia, la, ta, 0, 0, P);
  b.readRows(ib, lb, tb, 0, 0, P);
  assert.deepEqual(ib, ia, 'same top-k ids at every position');
  // f32 store: the server and this process run the same engine; JSON carries the f64 log-probs
  for (let i = 0; i < P * K; i++) assert.ok(Math.abs(lb[i] - la[i]) <= 1e-5, `slot ${i}: ${lb[i]} vs ${la[i]}`);
  for (let i = 0; i < P; i++) assert.ok(Math.abs(tb[i] - ta[i]) <= 1e-5, `tail ${i}: ${tb[i]} vs ${ta[i]}`);
});

test('a server speaking another tokenizer is refused, naming it', async () => {
  const other = loadTokenizer('../shared/data/llama2c-tokenizer/tokenizer.bin');
  await assert.rejects(openHttpTeacher({ ...spec, urls: [fleet[0].url] }, { tokenizer: other, probe: shards.train.tokens, source: 'r.yaml' }),
    new RegExp(`r.yaml: teacher server ${fleet[0].url} speaks tokenizer .*tok512.bin .*, the run's tokenizer .*tokenizer.bin is .*: their ids do not match`));
});
