// The http teacher's client side against recorded vLLM and SGLang answers (test/fixtures/http/,
// shaped as their docs give them) and against small loopback servers that misbehave on purpose:
// both protocols give the same rows; fewer than k log-probs, ids outside the vocabulary, no
// prompt_logprobs and malformed JSON are one clear error naming the endpoint; 429 (Retry-After)
// and 5xx are retried, an unreachable endpoint leaves the rotation; a foreign server that decodes
// ids to other pieces is refused; protocol openai refuses to score.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer } from '../src/data/index.js';
import { parseScored } from '../src/teacher/http-protocols.js';
import { HttpTeacher, openHttpTeacher, type HttpTeacherSpec } from '../src/teacher/http-teacher.js';
import { EndpointPool } from '../src/teacher/http-endpoints.js';
import { fixturesDir } from './helpers/fixtures.js';

const fixture = (name: string) => JSON.parse(readFileSync(join(fixturesDir, 'http', name), 'utf8')) as { request: Record<string, unknown>; response: unknown };
const vllm = fixture('vllm-prompt-logprobs.json');
const sglang = fixture('sglang-input-top-logprobs.json');
const window = [1, 403, 407];
const tok = loadTokenizer('../shared/data/stories260K/tok512.bin');

// the rows both fixtures hold (their prompt_logprobs / input_top_logprobs entries 1..3, top 2)
const wantIds = [403, 385, 407, 383, 261, 297];
const wantLps = [-0.2437430714812372, -1.8610469197478388, -0.017512697593176085, -4.186436075583899, -0.0123, -5.1];

test('vLLM prompt_logprobs and SGLang input_top_logprobs give the same rows: top k, tail 1 − Σp', () => {
  for (const [protocol, f] of [['vllm', vllm], ['sglang', sglang]] as const) {
    const r = parseScored(protocol, 'http://x', f.response, window, 2, 512);
    assert.deepEqual(Array.from(r.ids), wantIds, protocol);
    r.logProbs.forEach((v, i) => assert.ok(Math.abs(v - wantLps[i]) < 1e-6, `${protocol} ${i}`));
    for (let t = 0; t < 3; t++) assert.ok(Math.abs(r.tail[t] - (1 - Math.exp(wantLps[2 * t]) - Math.exp(wantLps[2 * t + 1]))) < 1e-6);
    assert.deepEqual(r.decoded.slice(1), ['Once', ' upon']);
  }
});

test('what the client sends is what the fixtures record', async () => {
  const { scoreRequest } = await import('../src/teacher/http-protocols.js');
  assert.deepEqual(scoreRequest('vllm', 'stories260K', window, 2), { path: '/v1/completions', body: vllm.request });
  assert.deepEqual(scoreRequest('sglang', 'stories260K', window, 2), { path: '/generate', body: sglang.request });
});

test('bad answers are one error naming the endpoint and what it lacks', () => {
  const clone = () => JSON.parse(JSON.stringify(vllm.response)) as { choices: { prompt_logprobs?: unknown[] }[] };
  const few = clone();
  few.choices[0].prompt_logprobs![2] = { 407: { logprob: -0.01, rank: 1 } };
  assert.throws(() => parseScored('vllm', 'http://a:1', few, window, 2, 512), /teacher server http:\/\/a:1: it returned 1 log-probs at prompt position 2, 2 were asked/);
  assert.throws(() => parseScored('vllm', 'http://a:1', vllm.response, window, 2, 300), /token id 403 .* outside the run's vocabulary of 300: a different vocabulary/);
  const none = clone();
  delete none.choices[0].prompt_logprobs;
  assert.throws(() => parseScored('vllm', 'http://a:1', none, window, 2, 512), /http:\/\/a:1: its answer has no prompt_logprobs: the server does not support vLLM's prompt_logprobs/);
  assert.throws(() => parseScored('sglang', 'http://b:2', { text: '' }, window, 2, 512), /http:\/\/b:2: its answer has no meta_info.input_top_logprobs/);
  assert.throws(() => parseScored('vllm', 'http://a:1', vllm.response, window, 3, 512), /returned 2 log-probs at prompt position 1, 3 were asked/);
});

/** A loopback server answering each POST with the next of `answers` (the last one repeats). */
async function fakeServer(answers: ((req: IncomingMessage, body: string, res: ServerResponse) => void)[]): Promise<{ url: string; hits: () => number }> {
  let n = 0;
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.method === 'GET') { res.writeHead(404).end('{"error":"no route"}'); return; }
      answers[Math.min(n++, answers.length - 1)](req, body, res);
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  after(() => s.close());
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, hits: () => n };
}
const json = (status: number, body: unknown, headers: Record<string, string> = {}) => (_q: IncomingMessage, _b: string, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));
};
const spec = (urls: string[], protocol: HttpTeacherSpec['protocol'] = 'vllm'): HttpTeacherSpec => ({ kind: 'http', urls, model: 'stories260K', protocol, topK: 2, concurrency: 2, timeoutMs: 5000, retries: 4 });
const req = { tokens: Int32Array.from(window), B: 1, T: 3, split: 'train' as const, offsets: new Int32Array(1), V: 512, accept: ['sparse' as const], temperature: 1 };

test('429 with Retry-After and 5xx are retried; an unreachable endpoint leaves the rotation', async () => {
  const busy = await fakeServer([json(429, { error: { message: 'busy' } }, { 'retry-after': '0' }), json(503, 'down'), json(200, vllm.response)]);
  const dead = 'http://127.0.0.1:9'; // discard port: nothing listens on loopback there
  const pool = new EndpointPool({ urls: [dead, busy.url], concurrency: 2, timeoutMs: 5000, retries: 4, backoffMs: 1, reviveMs: 60_000 });
  const t = new HttpTeacher(spec([dead, busy.url]), pool, 'fake', 'id', 512, null, 100);
  const out = await t.predict(req);
  assert.equal(out.kind, 'sparse');
  if (out.kind === 'sparse') assert.deepEqual(Array.from(out.ids), wantIds);
  assert.equal(busy.hits(), 3);
  // the dead endpoint is out of rotation now: the next call goes straight to the live one
  await t.predict(req);
  assert.equal(busy.hits(), 4);
});

test('a server answering malformed JSON, or a 4xx, fails at once naming it', async () => {
  const bad = await fakeServer([json(200, '{"choices": [')]);
  const t = new HttpTeacher(spec([bad.url]), new EndpointPool({ urls: [bad.url], concurrency: 1, timeoutMs: 5000, retries: 3 }), 'fake', 'id', 512, null, 100);
  await assert.rejects(t.predict(req), new RegExp(`teacher server ${bad.url}/v1/completions: its answer is not valid JSON`));
  assert.equal(bad.hits(), 1);
  const four = await fakeServer([json(400, { error: { message: 'prompt_logprobs must be <= 20' } })]);
  const u = new HttpTeacher(spec([four.url]), new EndpointPool({ urls: [four.url], concurrency: 1, timeoutMs: 5000, retries: 3 }), 'fake', 'id', 512, null, 100);
  await assert.rejects(u.predict(req), /HTTP 400: prompt_logprobs must be <= 20/);
});

test('a foreign server that decodes the run\'s ids to other pieces is refused; protocol openai refuses to score', async () => {
  // answers any vLLM scoring request with the sent ids ranked first, decoded as upper-case pieces
  const foreign = await fakeServer([(_q, body, res) => {
    const ids = (JSON.parse(body) as { prompt: number[] }).prompt;
    const pl = ids.map((id, i) => (i === 0 ? null : { [id]: { logprob: -0.1, rank: 1, decoded_token: new TextDecoder().decode(tok.decodeToken(ids[i - 1], id)).toUpperCase() + 'X' }, 0: { logprob: -3, rank: 2, decoded_token: '' } }));
    json(200, { choices: [{ index: 0, text: '', prompt_logprobs: pl }] })(_q, body, res);
  }]);
  const probe = Int32Array.from([1, ...tok.encode('Once upon a time there was a little girl named Lily')]);
  await assert.rejects(openHttpTeacher(spec([foreign.url]), { tokenizer: tok, probe, source: 'test' }),
    new RegExp(`teacher server ${foreign.url} decodes the run's ids to other pieces than .*tok512.bin .*a different vocabulary`));
  const t = await openHttpTeacher(spec([foreign.url], 'openai'), { tokenizer: tok, probe, source: 'test' });
  assert.equal(t.scoresAnyText, false);
  assert.equal(t.canGenerate, true);
  await assert.rejects(t.predict(req), /protocol openai can only generate text .* cannot score windows for soft-label KD/);
});
