// `distill cache` and the store reader on a tiny random teacher (ref backend): stored rows equal
// the teacher's processed rows at their positions; a cache run killed with SIGKILL and restarted
// completes the store with every shard byte-identical to an uninterrupted run (none lost or
// duplicated); two processes on disjoint --shards ranges fill one store together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCorpusShards, loadTokenizer } from '../src/data/index.js';
import { processTeacherLogitsSparse } from '../src/distill/index.js';
import { Rng } from '../src/engine/rng.js';
import { selectBackend } from '../src/engine/select.js';
import { saveCheckpoint } from '../src/io/checkpoint.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { createModel, initParams } from '../src/model/index.js';
import { fillStore } from '../src/teacher/cache-job.js';
import { StoreReader } from '../src/store/store-reader.js';
import { inspectStore } from '../src/store/verify.js';
import { ModelTeacher } from '../src/teacher/model-teacher.js';

const data = join('..', 'shared', 'data');
const tokPath = join(data, 'stories260K', 'tok512.bin');
const dir = mkdtempSync(join(tmpdir(), 'distill-store-cache-'));
const corpus = join(dir, 'stories.txt');
// The first 150 paragraphs of the real corpus: ~13K tokens, ~200 shards of 64 positions.
writeFileSync(corpus, readFileSync(join(data, 'tinystories', 'stories.txt'), 'utf8').split(/\n\s*\n/).slice(0, 150).join('\n\n'));
const cfg = { ...loadCheckpoint(join(data, 'stories260K', 'stories260K.bin')).config, dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32 };
const params = initParams(cfg, new Rng(4));
const teacherPath = join(dir, 'teacher.safetensors');
saveCheckpoint(teacherPath, cfg, params);
const home = join(dir, 'home');
mkdirSync(home);

const C = 16, K = 8, P = 0.9, SHARD = 64, BATCH = 4;
const tok = loadTokenizer(tokPath);
// the CLI keeps token shards under $HOME/.cache/distill/shards: the children get HOME=home
const shards = loadCorpusShards(corpus, tok, { cacheDir: join(home, '.cache', 'distill', 'shards') });
const be = selectBackend('ref');

function cacheInProcess(out: string) {
  const c = loadCheckpoint(teacherPath);
  const teacher = new ModelTeacher(be, createModel(c.config, c.params), BATCH, C, `distill ${teacherPath}`);
  return fillStore({
    dir: out, teacher, tokenizerIdentity: tok.identity(), vocabSize: tok.vocabSize,
    train: shards.train.tokens, val: shards.val.tokens, corpusSource: corpus, k: K, topP: P, temperature: 1, encoding: 'f32',
    context: C, shardPositions: SHARD, batch: BATCH,
  });
}

const cliArgs = (out: string, extra: string[] = []) => ['dist/src/cli/main.js', 'cache', '--teacher', teacherPath, '--tokenizer', tokPath, '--data', corpus,
  '--out', out, '--k', String(K), '--top-p', String(P), '--encoding', 'f32', '--context', String(C), '--shard-positions', String(SHARD),
  '--batch', String(BATCH), '--backend', 'ref', '--no-progress', ...extra];
const env = { ...process.env, HOME: home };

const reference = join(dir, 'reference');
const ref = await cacheInProcess(reference);
const shardFiles = (d: string) => readdirSync(d).filter((f) => f.endsWith('.dkd')).sort();

test('stored rows are the teacher\'s processed rows of the context window holding each position', () => {
  assert.equal(ref.written, ref.manifest.shards.length);
  assert.ok(ref.manifest.shards.length > 100, `${ref.manifest.shards.length} shards`);
  const r = new StoreReader(reference);
  const c = loadCheckpoint(teacherPath);
  const model = createModel(c.config, c.params);
  const teacher = new ModelTeacher(be, model, 1, C, 't');
  const V = tok.vocabSize, rng = new Rng(9);
  for (const split of ['train', 'val'] as const) {
    const toks = split === 'train' ? shards.train.tokens : shards.val.tokens;
    for (let trial = 0; trial < 5; trial++) {
      const w = rng.nextInt(Math.floor(toks.length / C)); // a full window of the split
      const inp = Int32Array.from(toks.subarray(w * C, w * C + C));
      const logits = teacher.logits(inp, 1, C);
      const ids = new Int32Array(C * K), lps = new Float32Array(C * K), tail = new Float32Array(C);
      processTeacherLogitsSparse(ids, lps, tail, logits, C, V, K, { topP: P, tailBucket: true });
      const sIds = new Int32Array(C * K), sLps = new Float32Array(C * K), sTail = new Float32Array(C);
      r.readRows(sIds, sLps, sTail, 0, r.splitStart(split) + w * C, C);
      assert.deepEqual(sIds, ids, `${split} window ${w}`);
      for (let i = 0; i < C * K; i++) assert.ok(Math.abs(sLps[i] - lps[i]) <= 2e-6 * Math.max(1, Math.abs(lps[i])) || sLps[i] === lps[i], `${split} window ${w} slot ${i}: ${sLps[i]} vs ${lps[i]}`);
      for (let i = 0; i < C; i++) assert.ok(Math.abs(sTail[i] - tail[i]) <= 1e-6);
    }
  }
  const rep = inspectStore(reference, true);
  assert.equal(rep.corrupt.length, 0);
  assert.equal(rep.recordsChecked, shards.train.tokens.length + shards.val.tokens.length);
});

test('distill cache killed with SIGKILL mid-run and restarted completes the store, no shard lost or duplicated', async () => {
  const out = join(dir, 'killed');
  const total = ref.manifest.shards.length;
  const child = spawn('node', cliArgs(out), { env, stdio: 'ignore' });
  const killedAt = await new Promise<number>((resolve, reject) => {
    const poll = setInterval(() => {
      const n = existsSync(out) ? shardFiles(out).length : 0;
      if (n >= 3) { child.kill('SIGKILL'); clearInterval(poll); resolve(n); }
    }, 2);
    child.on('exit', () => { clearInterval(poll); reject(new Error('the cache run finished before it could be killed; enlarge the corpus')); });
  });
  await new Promise((r) => child.on('exit', r));
  const afterKill = shardFiles(out).length;
  assert.ok(afterKill >= killedAt && afterKill < total, `killed with ${afterKill} of ${total} shards written`);
  const again = spawnSync('node', cliArgs(out), { env, encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`this run: ${total - afterKill} shards written .* ${afterKill} already complete`));
  assert.deepEqual(shardFiles(out), shardFiles(reference));
  assert.deepEqual(readdirSync(out).filter((f) => f.includes('.tmp-')), [], 'no temporary file left');
  for (const f of shardFiles(reference)) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(reference, f))), `${f} differs from the uninterrupted run`);
  const verify = spawnSync('node', ['dist/src/cli/main.js', 'store', 'verify', out], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, new RegExp(`integrity: OK \\(${total} shards checksummed`));
  const info = spawnSync('node', ['dist/src/cli/main.js', 'store', 'info', out], { encoding: 'utf8' });
  assert.equal(info.status, 0, info.stderr);
  // k = 8 f32 at V = 512: 4 count bits + 8·9 id bits + 8·32 value bits + 32 tail bits = 364 bits -> 46 bytes
  assert.match(info.stdout, /settings: k = 8, top-p = 0\.9, temperature = 1, encoding f32/);
  assert.match(info.stdout, /size: \d+ bytes, 46 bytes\/record, \d+\.\d\d bytes\/token with headers/);
  assert.match(info.stdout, new RegExp(`shards: ${total}/${total} present`));
});

test('two processes on disjoint --shards ranges fill one store, identical to one process', async () => {
  const out = join(dir, 'parallel');
  const total = ref.manifest.shards.length, mid = Math.floor(total / 2);
  const run = (range: string) => new Promise<number>((resolve) => spawn('node', cliArgs(out, ['--shards', range]), { env, stdio: 'ignore' }).on('exit', (c) => resolve(c ?? -1)));
  assert.deepEqual(await Promise.all([run(`0:${mid}`), run(`${mid}:${total}`)]), [0, 0]);
  assert.deepEqual(shardFiles(out), shardFiles(reference));
  for (const f of shardFiles(reference)) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(reference, f))), `${f} differs`);
  const bad = spawnSync('node', cliArgs(out, ['--k', '4']), { env, encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /setting 'k' is 4 but the store's is 8/);
});
