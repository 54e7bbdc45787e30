// `distill serve` driven by the `openai` npm client over loopback, on the real stories260K
// model: models, completions and chat (plain and streamed, equal text), greedy text as the data
// README gives it, seeded sampling repeatable, logprobs equal to the model's own log-softmax,
// vLLM's prompt_logprobs (null first, {id: {logprob, rank, decoded_token}}), 4xx errors in
// OpenAI's shape, and a graceful SIGTERM that finishes the stream in progress.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { loadTokenizer } from '../src/data/index.js';
import { selectBackend } from '../src/engine/select.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { createModel } from '../src/model/index.js';
import { JobQueue } from '../src/serve/job-queue.js';
import { ApiError } from '../src/serve/errors.js';
import { ModelTeacher } from '../src/teacher/model-teacher.js';
import { startServe, STORIES, TOK512 } from './helpers/serve-child.js';

const server = await startServe([STORIES, '--tokenizer', TOK512, '--max-body-bytes', '100000']);
after(() => server.stop('SIGKILL'));
const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none', maxRetries: 0 });
const MODEL = 'stories260K.bin';
const tok = loadTokenizer(TOK512);

/** log-softmax of the model's logits at each position of `ids`, computed here in-process. */
function localLogprobs(ids: number[]): Float64Array[] {
  const c = loadCheckpoint(STORIES);
  const t = new ModelTeacher(selectBackend(), createModel(c.config, c.params), 1, ids.length, 't');
  const logits = t.logits(Int32Array.from(ids), 1, ids.length);
  const V = c.config.vocabSize;
  return ids.map((_, i) => {
    const row = logits.subarray(i * V, (i + 1) * V);
    let mx = -Infinity; for (const x of row) mx = Math.max(mx, x);
    let z = 0; for (const x of row) z += Math.exp(x - mx);
    return Float64Array.from(row, (x) => x - mx - Math.log(z));
  });
}

test('/v1/models names the served model and its tokenizer identity', async () => {
  const list = await client.models.list();
  assert.equal(list.data[0].id, MODEL);
  const info = (list.data[0] as unknown as { distill: { tokenizerIdentity: string; vocabSize: number } }).distill;
  assert.equal(info.tokenizerIdentity, tok.identity());
  assert.equal(info.vocabSize, 512);
});

test('greedy completion continues as the data README says; the stream gives the same text', async () => {
  const r = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 24, temperature: 0 });
  // ../shared/data/README.md: "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
  assert.ok(r.choices[0].text.startsWith(', there was a little girl named Lily. She loved to play'), r.choices[0].text);
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage!.completion_tokens, 24);
  const stream = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 24, temperature: 0, stream: true });
  let text = '', finish = null;
  for await (const ch of stream) { text += ch.choices[0].text; finish = ch.choices[0].finish_reason ?? finish; }
  assert.equal(text, r.choices[0].text);
  assert.equal(finish, 'length');
});

test('a stop string cuts the text before it; a seed repeats a sampled chat, streamed or not', async () => {
  const r = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 40, temperature: 0, stop: ['Lily'] });
  assert.equal(r.choices[0].text, ', there was a little girl named ');
  assert.equal(r.choices[0].finish_reason, 'stop');
  const ask = { model: MODEL, messages: [{ role: 'user' as const, content: 'Tell me a story.' }], max_tokens: 30, temperature: 0.9, top_p: 0.95, seed: 7 };
  const a = await client.chat.completions.create(ask);
  const b = await client.chat.completions.create(ask);
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  assert.ok(a.choices[0].message.content!.length > 0);
  const s = await client.chat.completions.create({ ...ask, stream: true });
  let text = '';
  for await (const ch of s) text += ch.choices[0]?.delta.content ?? '';
  assert.equal(text, a.choices[0].message.content);
});

test('logprobs of generated tokens are the model\'s log-softmax at T = 1', async () => {
  const r = await client.completions.create({ model: MODEL, prompt: [1, 403], max_tokens: 3, temperature: 0, logprobs: 2 });
  const lp = r.choices[0].logprobs!;
  assert.equal(lp.token_logprobs!.length, 3);
  // the greedy path computed here: each step's most likely id, its log-prob and its text
  const ids = [1, 403];
  for (let i = 0; i < 3; i++) {
    const row = localLogprobs(ids)[ids.length - 1];
    const next = row.indexOf(Math.max(...row));
    assert.ok(Math.abs(lp.token_logprobs![i]! - row[next]) < 1e-5, `token ${i}: ${lp.token_logprobs![i]} vs ${row[next]}`);
    assert.equal(lp.tokens![i], new TextDecoder().decode(tok.decodeToken(ids[ids.length - 1], next)));
    assert.ok(Math.abs(Math.max(...Object.values(lp.top_logprobs![i])) - row[next]) < 1e-5);
    ids.push(next);
  }
});

test('prompt_logprobs: null first, then top-k plus the prompt token with rank and decoded text', async () => {
  const ids = [1, ...tok.encode('Once upon a time there was a cat')];
  const r = await client.completions.create({ model: MODEL, prompt: ids, max_tokens: 0, prompt_logprobs: 3 } as OpenAI.CompletionCreateParamsNonStreaming);
  const pl = (r.choices[0] as unknown as { prompt_logprobs: (Record<string, { logprob: number; rank: number; decoded_token: string }> | null)[] }).prompt_logprobs;
  assert.equal(pl.length, ids.length);
  assert.equal(pl[0], null);
  const local = localLogprobs(ids);
  for (let i = 1; i < ids.length; i++) {
    const e = pl[i]!;
    assert.ok(String(ids[i]) in e, `position ${i} holds its prompt token`);
    const ranks = Object.values(e).map((x) => x.rank).sort((a, b) => a - b);
    assert.deepEqual(ranks.slice(0, 3), [1, 2, 3]);
    for (const [id, x] of Object.entries(e)) {
      assert.ok(Math.abs(x.logprob - local[i - 1][Number(id)]) < 1e-5, `position ${i} id ${id}: ${x.logprob} vs ${local[i - 1][Number(id)]}`);
      assert.equal(x.decoded_token, new TextDecoder().decode(tok.decodeToken(ids[i - 1], Number(id))));
    }
  }
});

test('bad requests get 4xx errors in OpenAI\'s shape, naming the field', async () => {
  await assert.rejects(client.completions.create({ model: MODEL, prompt: 'x', max_tokens: 600 }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /max_tokens.*at most 512/.test(e.message));
  await assert.rejects(client.completions.create({ model: MODEL, prompt: Array(510).fill(5), max_tokens: 10 }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /maximum context length is 512 tokens, but 520/.test(e.message));
  await assert.rejects(client.completions.create({ model: 'gpt-4', prompt: 'x' }),
    (e: unknown) => e instanceof OpenAI.NotFoundError && /serves 'stories260K.bin'/.test(e.message));
  await assert.rejects(client.completions.create({ model: MODEL, prompt: [600] }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /token id 600 is outside the model's vocabulary of 512/.test(e.message));
  await assert.rejects(client.completions.create({ model: MODEL, prompt: 'x', logprobs: 500 }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /at most 128/.test(e.message));
  const big = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: 'x'.repeat(200000) }) });
  assert.equal(big.status, 413);
  assert.match(((await big.json()) as { error: { message: string } }).error.message, /exceeds 100000 bytes/);
  const bad = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":' });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: { message: string } }).error.message, /not valid JSON/);
});

test('admission past the concurrency limit is a 429', () => {
  const q = new JobQueue(2);
  const r1 = q.admit();
  q.admit();
  assert.throws(() => q.admit(), (e: unknown) => e instanceof ApiError && e.status === 429 && /at most 2 at once/.test(e.message));
  r1();
  q.admit();
});

test('SIGTERM finishes the stream in progress, then the server exits 0', async () => {
  const s = await startServe();
  const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'none', maxRetries: 0 });
  const stream = await c.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 200, temperature: 0, stream: true });
  let text = '', finish: string | null = null, exit: Promise<number | null> | null = null;
  for await (const ch of stream) {
    exit ??= s.stop('SIGTERM');
    text += ch.choices[0].text;
    finish = ch.choices[0].finish_reason ?? finish;
  }
  assert.ok(finish === 'length' || finish === 'stop', `finish ${finish}`);
  assert.ok(text.startsWith(', there was a little girl named Lily.'));
  assert.equal(await exit, 0);
});
