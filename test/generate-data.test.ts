// `distill generate-data` and its job (src/teacher/generate-data-job.ts) on the real stories260K
// teacher with prompts taken from ../shared/data/tinystories/stories.txt: rows are the teacher's
// own generations (the same through an http teacher on `distill serve`) (checked against model generate with each row's seed), a killed run resumed
// gives the same file as an uninterrupted one, and bad prompt files fail naming their lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStreamDecoder, loadTokenizer, splitParagraphs } from '../src/data/index.js';
import { readPrompts } from '../src/data/prompts.js';
import { selectBackend } from '../src/engine/select.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { createModel, generate } from '../src/model/index.js';
import { generateData, rowSeed, type GeneratedRow } from '../src/teacher/generate-data-job.js';
import { ModelTeacher } from '../src/teacher/model-teacher.js';
import { startServe } from './helpers/serve-child.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..'); // dist/test -> repo root
const MAIN = join(root, 'dist', 'src', 'cli', 'main.js');
const S = join(root, '../shared/data/stories260K');
const STORIES = join(root, '../shared/data/tinystories/stories.txt');

/** The first sentence of each of the first n paragraphs of stories.txt that start a story. */
function realPrompts(n: number): string[] {
  const paras = splitParagraphs(readFileSync(STORIES, 'utf8')).filter((p) => p.startsWith('Once upon a time'));
  return paras.slice(0, n).map((p) => p.slice(0, p.search(/[.!?]/) + 1));
}

function setup() {
  const be = selectBackend();
  const tok = loadTokenizer(join(S, 'tok512.bin'));
  const ck = loadCheckpoint(join(S, 'stories260K.bin'));
  const model = createModel(ck.config, ck.params);
  const teacher = new ModelTeacher(be, model, 1, 1, 'llama2c-legacy stories260K.bin', 'fp32', tok.identity());
  const stopIds = [tok.eosId, tok.bosId].filter((x): x is number => x !== null);
  return { be, tok, model, teacher, stopIds };
}

function rows(path: string): GeneratedRow[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as GeneratedRow);
}

test('generate-data: rows are the teacher\'s generations from each row\'s seed; killed + resumed = uninterrupted', async () => {
  const { be, tok, model, teacher, stopIds } = setup();
  const prompts = realPrompts(5);
  assert.equal(prompts.length, 5);
  const dir = mkdtempSync(join(tmpdir(), 'distill-gen-'));
  const sampling = { temperature: 1, topK: 0, topP: 0.95, seed: 7, maxTokens: 24 };
  const base = { teacher, tokenizer: tok, prompts, nPerPrompt: 2, sampling, stopIds, concurrency: 3 };
  const whole = join(dir, 'whole.jsonl');
  const r = await generateData({ ...base, out: whole });
  assert.deepEqual(r, { total: 10, resumedFrom: 0, written: 10, droppedBytes: 0 });
  const got = rows(whole);
  assert.deepEqual(got.map((x) => x.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  for (const row of got) {
    assert.equal(row.prompt, prompts[Math.floor(row.index / 2)]);
    assert.deepEqual(row.sampling, sampling);
    assert.equal(row.teacher.identity, teacher.identity);
    const ids = [tok.bosId as number, ...tok.encode(row.prompt)];
    const g = generate(be, model, ids, { maxNewTokens: 24, temperature: 1, topP: 0.95, seed: rowSeed(7, row.index), stopIds });
    const dec = createStreamDecoder(tok, ids[ids.length - 1]);
    assert.equal(row.response, g.tokens.map((id) => dec.push(id)).join('') + dec.flush());
    assert.ok(g.tokens.length > 0);
  }
  // Two answers to one prompt differ (their seeds do): the n-per-prompt rows are not copies.
  assert.notEqual(got[0].response, got[1].response);

  // A run stopped after 4 rows, its last line then torn as a kill mid-write leaves it, resumed.
  const part = join(dir, 'part.jsonl');
  assert.equal((await generateData({ ...base, out: part, limit: 4, concurrency: 1 })).written, 4);
  appendFileSync(part, '{"prompt": "Once upon');
  const seen: number[] = [];
  const r2 = await generateData({ ...base, out: part, onProgress: (n) => seen.push(n) });
  assert.deepEqual(r2, { total: 10, resumedFrom: 4, written: 6, droppedBytes: 21 });
  assert.deepEqual(seen, [5, 6, 7, 8, 9, 10]);
  assert.equal(readFileSync(part, 'utf8'), readFileSync(whole, 'utf8'));
  // Resuming a finished file writes nothing; other settings are refused, naming the line.
  assert.equal((await generateData({ ...base, out: part })).written, 0);
  await assert.rejects(generateData({ ...base, out: part, sampling: { ...sampling, temperature: 0.5 } }),
    /part\.jsonl: line 1 was sampled with .*"temperature":1.*this run asks .*"temperature":0\.5.*use another --out/);
});

test('generate-data at temperature 0 answers "Once upon a time" with the README continuation', async () => {
  const { tok, teacher, stopIds } = setup();
  const out = join(mkdtempSync(join(tmpdir(), 'distill-gen-')), 'g.jsonl');
  await generateData({ teacher, tokenizer: tok, prompts: ['Once upon a time'], nPerPrompt: 1, stopIds, concurrency: 1, out,
    sampling: { temperature: 0, topK: 0, topP: 1, seed: 0, maxTokens: 27 } });
  // shared/data/README.md: the greedy continuation every loader of stories260K must give.
  assert.equal(rows(out)[0].response, ', there was a little girl named Lily. She loved to play outside in the park.');
});

test('prompts files: .txt lines, .jsonl "prompt" fields; bad JSONL lines named in one error, or skipped and counted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'distill-prompts-'));
  writeFileSync(join(dir, 'p.txt'), 'One day\n\n  Tim ran.  \n');
  assert.deepEqual(readPrompts(join(dir, 'p.txt')), { prompts: ['One day', 'Tim ran.'], skippedLines: [] });
  const bad = join(dir, 'p.jsonl');
  writeFileSync(bad, '{"prompt": "One day"}\n{"prompt": 3}\n\n{oops\n{"text": "x"}\n{"prompt": "Tim", "id": 2}\n');
  assert.throws(() => readPrompts(bad), (e: Error) => {
    assert.match(e.message, /p\.jsonl: 3 bad line\(s\), each must be a JSON object with a string "prompt" field: line 2: "prompt" is a number, expected a string; line 4: not valid JSON .*; line 5: no "prompt" field\. Fix them, or pass --skip-bad/);
    return true;
  });
  assert.deepEqual(readPrompts(bad, { skipBad: true }), { prompts: ['One day', 'Tim'], skippedLines: [2, 4, 5] });
});

test('distill generate-data on the command line: --limit, then resume; bad prompts exit 1 naming the lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'distill-gen-cli-'));
  const prompts = join(dir, 'prompts.txt');
  writeFileSync(prompts, realPrompts(3).join('\n') + '\n');
  const run = (out: string, extra: string[]) => spawnSync(process.execPath, [MAIN, 'generate-data', '--teacher', join(S, 'stories260K.bin'),
    '--tokenizer', join(S, 'tok512.bin'), '--prompts', prompts, '--out', out, '--max-tokens', '16', '--seed', '3', '--no-progress', ...extra], { encoding: 'utf8' });
  const a = run(join(dir, 'a.jsonl'), ['--limit', '2']);
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stdout, /a\.jsonl: 2 of 3 rows \(2 written now\)/);
  const b = run(join(dir, 'a.jsonl'), []);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /a\.jsonl: 3 of 3 rows \(1 written now, resumed after 2 row\(s\)\)/);
  const c = run(join(dir, 'c.jsonl'), []);
  assert.equal(readFileSync(join(dir, 'a.jsonl'), 'utf8'), readFileSync(join(dir, 'c.jsonl'), 'utf8'));

  const badPrompts = join(dir, 'bad.jsonl');
  writeFileSync(badPrompts, '{"prompt": "One day"}\nnot json\n');
  const d = spawnSync(process.execPath, [MAIN, 'generate-data', '--teacher', join(S, 'stories260K.bin'), '--tokenizer', join(S, 'tok512.bin'),
    '--prompts', badPrompts, '--out', join(dir, 'd.jsonl')], { encoding: 'utf8' });
  assert.equal(d.status, 1);
  assert.match(d.stderr, /^distill: .*bad\.jsonl: 1 bad line\(s\).*line 2: not valid JSON/);
  assert.equal(c.status, 0);
});

test('distill generate-data --recipe: an http teacher (protocol openai, on distill serve) writes the rows the checkpoint writes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'distill-gen-http-'));
  const prompts = join(dir, 'prompts.txt');
  writeFileSync(prompts, realPrompts(3).join('\n') + '\n');
  const corpus = join(dir, 'stories.txt');
  writeFileSync(corpus, splitParagraphs(readFileSync(STORIES, 'utf8')).slice(0, 40).join('\n\n'));
  const server = await startServe([join(S, 'stories260K.bin'), '--tokenizer', join(S, 'tok512.bin')]);
  try {
    const recipe = join(dir, 'r.yaml');
    writeFileSync(recipe, `name: gen
data: {path: ${corpus}, tokenizer: ${join(S, 'tok512.bin')}, cacheDir: ${join(dir, 'cache')}}
teacher: {kind: http, url: ${server.url}, model: stories260K.bin, protocol: openai}
student: {kind: config, dim: 16, nLayers: 1, nHeads: 2, hiddenDim: 32}
train: {steps: 1}
`);
    const args = ['--prompts', prompts, '--max-tokens', '20', '--seed', '5', '--n-per-prompt', '2', '--no-progress'];
    const viaHttp = spawnSync(process.execPath, [MAIN, 'generate-data', '--recipe', recipe, '--out', join(dir, 'http.jsonl'), ...args], { encoding: 'utf8' });
    assert.equal(viaHttp.status, 0, viaHttp.stderr);
    const local = spawnSync(process.execPath, [MAIN, 'generate-data', '--teacher', join(S, 'stories260K.bin'), '--tokenizer', join(S, 'tok512.bin'), '--out', join(dir, 'local.jsonl'), ...args], { encoding: 'utf8' });
    assert.equal(local.status, 0, local.stderr);
    const strip = (rs: GeneratedRow[]) => rs.map(({ prompt, response, index, sampling }) => ({ prompt, response, index, sampling }));
    const h = rows(join(dir, 'http.jsonl'));
    assert.equal(h.length, 6);
    assert.match(h[0].teacher.description, /http/);
    assert.deepEqual(strip(h), strip(rows(join(dir, 'local.jsonl'))));
  } finally {
    await server.stop();
  }
  const neither = spawnSync(process.execPath, [MAIN, 'generate-data', '--prompts', prompts, '--out', join(dir, 'x.jsonl')], { encoding: 'utf8' });
  assert.equal(neither.status, 1);
  assert.match(neither.stderr, /pass the teacher as --teacher <checkpoint> or --recipe <yaml>/);
});
