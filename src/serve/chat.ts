// POST /v1/chat/completions: OpenAI's chat completions over the simple chat template
// (chat-template.ts), non-streamed or as chat.completion.chunk events; `logprobs` + `top_logprobs`
// in OpenAI's {content: [{token, logprob, bytes, top_logprobs}]} shape, and vLLM's
// `prompt_logprobs` (top level, as vLLM puts it for chat). It does not speak HTTP.
import { ApiError } from './errors.js';
import { renderChat } from './chat-template.js';
import { type Job, newId, promptIds, promptLogprobsJson, samplingParams } from './completions.js';
import { ChatRequest, checkLengths, checkLogprobs, parseBody, type ServerLimits } from './requests.js';
import type { ServedModel } from './served-model.js';
import { generateText, type TokenLogprob } from './text-generation.js';

/** Checks a chat request (throwing a 4xx ApiError) and returns the job that answers it. */
export function chatCompletions(sm: ServedModel, body: unknown, limits: ServerLimits): Job {
  const r = parseBody(ChatRequest, body);
  if (r.model !== sm.info.id) throw new ApiError(404, `model '${r.model}' is not served here; this server serves '${sm.info.id}' (GET /v1/models)`, 'not_found_error', 'model');
  const k = r.logprobs ? (r.top_logprobs ?? 0) : null;
  checkLogprobs('top_logprobs', k, limits);
  checkLogprobs('prompt_logprobs', r.prompt_logprobs, limits);
  const ids = promptIds(sm, renderChat(r.messages))[0];
  // vLLM's default: whatever the context leaves, within the server's cap
  const maxTokens = r.max_completion_tokens ?? r.max_tokens ?? Math.max(0, Math.min(limits.maxTokens, sm.info.maxSeqLen - ids.length));
  checkLengths(ids.length, maxTokens, sm.info.maxSeqLen, limits);
  return { stream: r.stream ?? false, run: async (sink) => {
    const id = newId('chatcmpl'), created = Math.floor(Date.now() / 1000), model = sm.info.id;
    const scored = r.prompt_logprobs != null ? await sm.score(ids, r.prompt_logprobs) : null;
    const promptLogprobs = scored ? { prompt_logprobs: promptLogprobsJson(sm, ids, scored) } : {};
    const chunk = (delta: object, toks: TokenLogprob[], finish: string | null) => ({
      id, object: 'chat.completion.chunk', created, model,
      choices: [{ index: 0, delta, logprobs: k !== null ? chatLogprobs(toks) : null, finish_reason: finish }],
    });
    if (sink) await sink.write(chunk({ role: 'assistant', content: '' }, [], null));
    const g = await generateText(sm, ids, samplingParams(sm, r, maxTokens, k), sink ? (text, toks) => sink.write(chunk({ content: text }, toks, null)) : undefined);
    const usage = { prompt_tokens: ids.length, completion_tokens: g.completionTokens, total_tokens: ids.length + g.completionTokens };
    if (sink) {
      await sink.write({ ...chunk({}, [], g.finishReason), ...promptLogprobs });
      if (r.stream_options?.include_usage) await sink.write({ id, object: 'chat.completion.chunk', created, model, choices: [], usage });
      return undefined;
    }
    return {
      id, object: 'chat.completion', created, model,
      choices: [{ index: 0, message: { role: 'assistant', content: g.text }, logprobs: k !== null ? chatLogprobs(g.tokens) : null, finish_reason: g.finishReason }],
      usage, ...promptLogprobs,
    };
  } };
}

function chatLogprobs(toks: TokenLogprob[]) {
  return {
    content: toks.map((t) => ({
      token: t.text, logprob: t.logprob, bytes: t.bytes,
      top_logprobs: t.top.map((a) => ({ token: a.text, logprob: a.logprob, bytes: a.bytes })),
    })),
  };
}
