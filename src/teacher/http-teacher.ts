// A teacher behind HTTP: a fleet of vLLM or SGLang servers (or `distill serve`) scoring token
// windows sent as ids, so nothing is re-tokenized; each window is one request, spread over the
// endpoints (http-endpoints.ts). Rows are the servers' top-k at T = 1 with tail 1 − Σp,
// re-tempered here to the temperature asked (sparse-rows.ts). On opening it checks the servers
// speak the run's tokenizer: `distill serve` says so at /distill/info; a foreign server is probed
// with a corpus window (vocabulary bounds, k log-probs per position, decoded pieces). Protocol
// `openai` can only generate. It runs no model here.
import { createHash } from 'node:crypto';
import type { GenerateOptions, GenerateResult } from '../model/index.js';
import { EndpointPool, type PoolOptions } from './http-endpoints.js';
import { parseScored, scoreRequest, type ScoringProtocol } from './http-protocols.js';
import { densifyRows, retemperRowsInPlace } from './sparse-rows.js';
import { checkRequest, type Teacher, type TeacherOutput, type TeacherRequest, TeacherError } from './teacher.js';

export interface HttpTeacherSpec {
  kind: 'http';
  url?: string;
  urls?: string[];
  model: string;
  protocol: 'vllm' | 'sglang' | 'openai';
  topK: number;
  concurrency: number;
  timeoutMs: number;
  retries: number;
}

/** What the opener needs of the run. */
export interface HttpTeacherContext {
  tokenizer: { identity(): string; source: string; vocabSize: number; decodeToken?(prev: number, id: number): Uint8Array };
  /** Ids to probe a foreign server with (the run's corpus). */
  probe: ArrayLike<number>;
  source: string;
  /** Backoff and revival times (tests shorten them). */
  pool?: Pick<PoolOptions, 'backoffMs' | 'reviveMs'>;
}

/** What `distill serve` says of itself at /distill/info (src/serve/served-model.ts ServedInfo). */
interface ServeInfo { description: string; modelIdentity: string; tokenizerIdentity: string; tokenizerSource: string; vocabSize: number; maxSeqLen: number }

/** Ids in a foreign server's probe: enough positions to see its vocabulary, one small request. */
const PROBE_TOKENS = 32;

export class HttpTeacher implements Teacher {
  readonly params = null;
  readonly localModel = null;
  readonly canGenerate: boolean;
  readonly scoresAnyText: boolean;
  private ids = new Int32Array(0);
  private logProbs = new Float32Array(0);
  private tail = new Float32Array(0);
  private dense = new Float32Array(0);

  constructor(readonly spec: HttpTeacherSpec, readonly pool: EndpointPool, readonly description: string, readonly identity: string,
    readonly vocabSize: number, readonly tokenizerIdentity: string | null, readonly maxSeqLen: number) {
    this.scoresAnyText = spec.protocol !== 'openai';
    this.canGenerate = spec.protocol !== 'sglang';
  }

  get k(): number { return this.spec.topK; }

  async predict(req: TeacherRequest): Promise<TeacherOutput> {
    if (this.spec.protocol === 'openai') {
      throw new TeacherError(`teacher ${this.description}: protocol openai can only generate text (OpenAI-style servers return log-probs of generated tokens only), it cannot score windows for soft-label KD; use a vLLM or SGLang server (protocol: vllm | sglang) or distill serve`);
    }
    checkRequest(this, req, Number.MAX_SAFE_INTEGER);
    const { B, T, V } = req, k = this.k, N = B * T;
    if (this.tail.length < N) { this.ids = new Int32Array(N * k); this.logProbs = new Float32Array(N * k); this.tail = new Float32Array(N); }
    const protocol = this.spec.protocol as ScoringProtocol;
    await Promise.all(Array.from({ length: B }, async (_, b) => {
      const window = req.tokens.subarray(b * T, (b + 1) * T);
      const r = scoreRequest(protocol, this.spec.model, window, k);
      const { endpoint, json } = await this.pool.post(r.path, r.body);
      const rows = parseScored(protocol, endpoint, json, window, k, V);
      this.ids.set(rows.ids, b * T * k);
      this.logProbs.set(rows.logProbs, b * T * k);
      this.tail.set(rows.tail, b * T);
    }));
    if (req.temperature !== 1) retemperRowsInPlace(this.ids, this.logProbs, this.tail, N, k, V, 1 / req.temperature);
    for (const form of req.accept) {
      if (form === 'sparse') return { kind: 'sparse', k, ids: this.ids.subarray(0, N * k), logProbs: this.logProbs.subarray(0, N * k), tail: this.tail.subarray(0, N) };
      if (form === 'logits') {
        if (this.dense.length < N * V) this.dense = new Float32Array(N * V);
        densifyRows(this.dense, this.ids, this.logProbs, this.tail, N, k, V);
        return { kind: 'logits', logits: this.dense.subarray(0, N * V) };
      }
    }
    throw new TeacherError(`teacher ${this.description} gives sparse rows or logits, the caller accepts only ${req.accept.join(', ')}`);
  }

  /** Continues `prompt` on a server's /v1/completions (ids in; ids back as vLLM's "token_id:N" tokens). */
  async generate(prompt: readonly number[], o: GenerateOptions): Promise<GenerateResult> {
    if (!this.canGenerate) throw new TeacherError(`teacher ${this.description}: protocol ${this.spec.protocol} is used for scoring only here`);
    const max = o.maxNewTokens ?? 64;
    const { endpoint, json } = await this.pool.post('/v1/completions', {
      model: this.spec.model, prompt, max_tokens: max, temperature: o.temperature ?? 1, top_p: o.topP ?? 1, ...(o.topK ? { top_k: o.topK } : {}),
      seed: o.seed ?? 0, logprobs: 0, return_tokens_as_token_ids: true, ...(o.stopIds?.length ? { stop_token_ids: o.stopIds } : {}),
    });
    const ch = (json as { choices?: { logprobs?: { tokens?: unknown[] } | null; finish_reason?: string }[] }).choices?.[0];
    const toks = ch?.logprobs?.tokens;
    if (!Array.isArray(toks)) throw new TeacherError(`teacher server ${endpoint}: its completion carries no logprobs.tokens, so the generated ids are unknown (it needs vLLM's return_tokens_as_token_ids)`);
    const stop = new Set(o.stopIds ?? []);
    const tokens: number[] = [];
    for (const t of toks) {
      const m = /^token_id:(\d+)$/.exec(String(t));
      if (!m) throw new TeacherError(`teacher server ${endpoint}: generated token ${JSON.stringify(t)} is not "token_id:N" (it ignores return_tokens_as_token_ids)`);
      if (stop.has(Number(m[1]))) return { tokens, finishReason: 'stop' };
      tokens.push(Number(m[1]));
    }
    return { tokens, finishReason: ch?.finish_reason === 'length' ? 'length' : 'stop' };
  }
}

/** Opens the servers `spec` names and checks they speak the run's tokenizer (refusing otherwise). */
export async function openHttpTeacher(spec: HttpTeacherSpec, ctx: HttpTeacherContext): Promise<HttpTeacher> {
  const urls = spec.urls ?? (spec.url !== undefined ? [spec.url] : []);
  if (urls.length === 0 || (spec.url !== undefined && spec.urls !== undefined)) throw new TeacherError(`${ctx.source}: teacher http needs url or urls (one of them)`);
  if (!(spec.topK >= 1 && spec.topK <= ctx.tokenizer.vocabSize)) throw new TeacherError(`${ctx.source}: teacher.topK ${spec.topK} must be in 1..${ctx.tokenizer.vocabSize} (the vocabulary)`);
  const pool = new EndpointPool({ urls, concurrency: spec.concurrency, timeoutMs: spec.timeoutMs, retries: spec.retries, ...ctx.pool });
  const tok = ctx.tokenizer;
  const infos = await Promise.all(pool.urls.map(async (u) => ({ url: u, info: await pool.get(u, '/distill/info') as ServeInfo | null })));
  const ours = infos.filter((x) => x.info !== null);
  const shrink = spec.protocol === 'sglang' ? 1 : 2; // the extra id sent after each window (+ vLLM's one generated token)
  for (const { url, info } of ours) {
    if (info!.tokenizerIdentity !== tok.identity()) {
      throw new TeacherError(`${ctx.source}: teacher server ${url} speaks tokenizer ${info!.tokenizerSource} (${info!.tokenizerIdentity}), the run's tokenizer ${tok.source} is ${tok.identity()}: their ids do not match one to one; serve the teacher with this tokenizer (distill serve --tokenizer) or train on the teacher's`);
    }
    if (info!.modelIdentity !== ours[0].info!.modelIdentity) {
      throw new TeacherError(`${ctx.source}: teacher servers ${ours[0].url} and ${url} serve different models (${ours[0].info!.modelIdentity} vs ${info!.modelIdentity}); a fleet must serve one teacher`);
    }
  }
  // no endpoints in the name: a store filled through different fleets is one store
  const name = `http ${spec.protocol} ${spec.model}`;
  if (ours.length === pool.urls.length) {
    const i = ours[0].info!;
    return new HttpTeacher(spec, pool, `${name} (${i.description})`, i.modelIdentity, i.vocabSize, i.tokenizerIdentity, i.maxSeqLen - shrink);
  }
  // foreign servers: the context from /v1/models where given, the vocabulary from a probe
  const models = await pool.get(pool.urls[0], '/v1/models') as { data?: { id?: string; max_model_len?: number }[] } | null;
  const ctxLen = models?.data?.find((m) => m.id === spec.model)?.max_model_len;
  const identity = 'server:' + createHash('sha256').update(`${spec.protocol} ${spec.model} ${tok.identity()}`).digest('hex');
  const t = new HttpTeacher(spec, pool, name, identity, tok.vocabSize, tok.identity(), ctxLen ? ctxLen - shrink : Number.MAX_SAFE_INTEGER);
  if (spec.protocol !== 'openai') await probeVocabulary(t, ctx);
  return t;
}

/** Scores a corpus window on every endpoint and compares the pieces they decode with the run's tokenizer. */
async function probeVocabulary(t: HttpTeacher, ctx: HttpTeacherContext): Promise<void> {
  const n = Math.min(PROBE_TOKENS, ctx.probe.length);
  if (n < 2) return;
  const window = Int32Array.from(Array.from({ length: n }, (_, i) => ctx.probe[i]));
  const protocol = t.spec.protocol as ScoringProtocol;
  const utf8 = new TextDecoder();
  for (const url of t.pool.urls) {
    const r = scoreRequest(protocol, t.spec.model, window, t.k);
    const one = new EndpointPool({ urls: [url], concurrency: 1, timeoutMs: t.spec.timeoutMs, retries: t.spec.retries, ...ctx.pool });
    const { json } = await one.post(r.path, r.body);
    const rows = parseScored(protocol, url, json, window, t.k, t.vocabSize); // throws: too few log-probs, ids outside V, no prompt log-probs
    const dec = ctx.tokenizer.decodeToken;
    if (!dec) continue;
    const bad: string[] = [];
    for (let i = 1; i < n; i++) {
      const theirs = rows.decoded[i];
      const mine = utf8.decode(dec.call(ctx.tokenizer, window[i - 1], window[i]));
      if (theirs !== null && theirs.trim() !== mine.trim()) bad.push(`id ${window[i]}: ${JSON.stringify(theirs)} vs ${JSON.stringify(mine)}`);
    }
    if (bad.length > n / 4) {
      throw new TeacherError(`${ctx.source}: teacher server ${url} decodes the run's ids to other pieces than ${ctx.tokenizer.source} (${bad.slice(0, 3).join('; ')}): a different vocabulary; serve a teacher with this tokenizer or train on the teacher's`);
    }
  }
}
