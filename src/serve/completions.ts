// POST /v1/completions: OpenAI's legacy completions with vLLM's extensions — a prompt as text, a
// list of texts, token ids or a list of id lists; `prompt_logprobs: k` (per prompt position the
// prompt token and the top k ids as {id: {logprob, rank, decoded_token}}, null first, as vLLM
// returns them); `echo`; `logprobs: k` in OpenAI's {tokens, token_logprobs, top_logprobs,
// text_offset} shape. `max_tokens: 0` with prompt_logprobs scores without generating (what the
// http teacher sends). Streams as server-sent chunks through a sink. It does not speak HTTP.
import { randomBytes } from 'node:crypto';
import { ApiError, badParam } from './errors.js';
import { checkLengths, checkLogprobs, CompletionRequest, parseBody, type ServerLimits } from './requests.js';
import type { ScoredPosition, ServedModel } from './served-model.js';
import { generateText, tokenText, type GenerationParams, type TokenLogprob } from './text-generation.js';

/** Where a streamed response's chunks go; write resolves false when the client has gone. */
export interface ChunkSink { write(chunk: unknown): Promise<boolean> }

/** OpenAI's default max_tokens for completions. */
const DEFAULT_COMPLETION_TOKENS = 16;

export const newId = (prefix: string): string => `${prefix}-${randomBytes(12).toString('hex')}`;

/** The prompts of a request as id lists (text gets the tokenizer's BOS in front, as the model was trained). */
export function promptIds(sm: ServedModel, prompt: CompletionRequest['prompt']): number[][] {
  const tok = sm.tokenizer;
  const encode = (s: string) => (tok.bosId !== null ? [tok.bosId, ...tok.encode(s)] : tok.encode(s));
  const lists = typeof prompt === 'string' ? [encode(prompt)]
    : typeof prompt[0] === 'string' ? (prompt as string[]).map(encode)
      : typeof prompt[0] === 'number' ? [prompt as number[]] : (prompt as number[][]);
  const V = sm.info.vocabSize;
  lists.forEach((l, i) => {
    if (l.length === 0) throw badParam('prompt', `prompt ${i} is empty and the tokenizer has no BOS token to start from`);
    const bad = l.find((id) => id >= V);
    if (bad !== undefined) throw badParam('prompt', `token id ${bad} is outside the model's vocabulary of ${V} ids`);
  });
  return lists;
}

/** vLLM's prompt_logprobs list for one prompt. */
export function promptLogprobsJson(sm: ServedModel, ids: readonly number[], scored: (ScoredPosition | null)[]): (Record<string, { logprob: number; rank: number; decoded_token: string }> | null)[] {
  return scored.map((s, i) => {
    if (s === null) return null;
    const d: Record<string, { logprob: number; rank: number; decoded_token: string }> = {};
    s.top.forEach((id, r) => { d[id] = { logprob: s.topLogprobs[r], rank: r + 1, decoded_token: tokenText(sm.tokenizer, ids[i - 1], id).text }; });
    d[s.token] ??= { logprob: s.logprob, rank: s.rank, decoded_token: tokenText(sm.tokenizer, ids[i - 1], s.token).text };
    return d;
  });
}

export function samplingParams(sm: ServedModel, r: { temperature?: number | null; top_p?: number | null; top_k?: number | null; seed?: number | null; stop?: string | string[] | null }, maxTokens: number, logprobs: number | null): GenerationParams {
  return {
    maxTokens, logprobs,
    temperature: r.temperature ?? 1, topP: r.top_p ?? 1, topK: r.top_k != null && r.top_k > 0 ? r.top_k : 0,
    seed: r.seed ?? randomBytes(4).readUInt32LE(0), stop: r.stop == null ? [] : typeof r.stop === 'string' ? [r.stop] : r.stop,
  };
}

/** The work a checked request asks for: its JSON answer (sink null) or its chunks into the sink. */
export type Job = { stream: boolean; run: (sink: ChunkSink | null) => Promise<unknown> };

/** Checks a completions request (throwing a 4xx ApiError) and returns the job that answers it. */
export function completions(sm: ServedModel, body: unknown, limits: ServerLimits): Job {
  const r = parseBody(CompletionRequest, body);
  if (r.model !== sm.info.id) throw new ApiError(404, `model '${r.model}' is not served here; this server serves '${sm.info.id}' (GET /v1/models)`, 'not_found_error', 'model');
  checkLogprobs('logprobs', r.logprobs, limits);
  checkLogprobs('prompt_logprobs', r.prompt_logprobs, limits);
  const prompts = promptIds(sm, r.prompt);
  if (prompts.length > limits.maxPrompts) throw badParam('prompt', `${prompts.length} prompts in one request, this server takes at most ${limits.maxPrompts}`);
  const maxTokens = r.max_tokens ?? DEFAULT_COMPLETION_TOKENS;
  for (const ids of prompts) checkLengths(ids.length, maxTokens, sm.info.maxSeqLen, limits);
  return { stream: r.stream ?? false, run: async (sink) => {
    const id = newId('cmpl'), created = Math.floor(Date.now() / 1000), model = sm.info.id;
    const choices = [];
    let promptTokens = 0, completionTokens = 0;
    for (const [index, ids] of prompts.entries()) {
      promptTokens += ids.length;
      const echoText = r.echo ? sm.tokenizer.decode(ids) : '';
      // the prompt's scores: for prompt_logprobs, and for echoed prompt tokens' logprobs
      const k = Math.max(r.prompt_logprobs ?? -1, r.echo && r.logprobs != null ? r.logprobs : -1);
      const scored = k >= 0 ? await sm.score(ids, k) : null;
      const head = r.echo && r.logprobs != null ? echoedLogprobs(sm, ids, scored!, r.logprobs) : [];
      const params = samplingParams(sm, r, maxTokens, r.logprobs ?? null);
      const chunk = (text: string, toks: TokenLogprob[], finish: string | null) => ({
        id, object: 'text_completion', created, model,
        choices: [{ index, text, logprobs: r.logprobs != null ? legacyLogprobs(toks, r.return_tokens_as_token_ids ?? false) : null, finish_reason: finish }],
      });
      if (sink && (echoText || head.length > 0)) await sink.write(chunk(echoText, head, null));
      const g = await generateText(sm, ids, params, sink ? (text, toks) => sink.write(chunk(text, toks, null)) : undefined);
      completionTokens += g.completionTokens;
      if (sink) {
        const last = chunk('', [], g.finishReason);
        if (r.prompt_logprobs != null) Object.assign(last.choices[0], { prompt_logprobs: promptLogprobsJson(sm, ids, scored!) });
        await sink.write(last);
        continue;
      }
      const all = [...head, ...g.tokens];
      choices.push({
        index, text: echoText + g.text, finish_reason: g.finishReason,
        logprobs: r.logprobs != null ? legacyLogprobs(all, r.return_tokens_as_token_ids ?? false) : null,
        ...(r.prompt_logprobs != null ? { prompt_logprobs: promptLogprobsJson(sm, ids, scored!) } : {}),
      });
    }
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    if (sink) {
      if (r.stream_options?.include_usage) await sink.write({ id, object: 'text_completion', created, model, choices: [], usage });
      return undefined;
    }
    return { id, object: 'text_completion', created, model, choices, usage };
  } };
}

/** The echoed prompt's tokens as log-prob entries (the first has none: null in the response). */
function echoedLogprobs(sm: ServedModel, ids: readonly number[], scored: (ScoredPosition | null)[], k: number): TokenLogprob[] {
  return ids.map((id, i) => {
    const prev = i === 0 ? -1 : ids[i - 1], s = scored[i];
    const t = tokenText(sm.tokenizer, prev, id);
    if (s === null) return { ...t, logprob: NaN, top: [] };
    return { ...t, logprob: s.logprob, top: s.top.slice(0, k).map((j, r) => ({ ...tokenText(sm.tokenizer, prev, j), logprob: s.topLogprobs[r] })) };
  });
}

/** OpenAI's completions logprobs object; a NaN log-prob (the first echoed token) is null; asIds: tokens as vLLM's "token_id:N". */
function legacyLogprobs(toks: TokenLogprob[], asIds: boolean) {
  let off = 0;
  const text_offset: number[] = [];
  for (const t of toks) { text_offset.push(off); off += t.text.length; }
  return {
    tokens: toks.map((t) => (asIds ? `token_id:${t.id}` : t.text)),
    token_logprobs: toks.map((t) => (Number.isNaN(t.logprob) ? null : t.logprob)),
    top_logprobs: toks.map((t) => (Number.isNaN(t.logprob) ? null : Object.fromEntries(t.top.map((a) => [a.text, a.logprob])))),
    text_offset,
  };
}
