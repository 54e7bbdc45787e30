// The request bodies the server takes, checked field by field: OpenAI's completions and chat
// completions with vLLM's extensions (prompt as token ids, prompt_logprobs, top_k), and the
// server's limits (max_tokens, log-probs asked, prompt length vs context). Keys it does not know
// are ignored, as OpenAI-compatible servers do (clients send `user`, `stream_options`, ...). A
// bad field is one 400 naming it. It runs nothing.
import { z } from 'zod';
import { ApiError, badParam } from './errors.js';

export interface ServerLimits {
  /** Largest max_tokens a request may ask. */
  maxTokens: number;
  /** Most ids per position in `logprobs` / `top_logprobs` / `prompt_logprobs`. */
  maxLogprobs: number;
  /** Most prompts in one completions request. */
  maxPrompts: number;
}

const sampling = {
  model: z.string().min(1),
  max_tokens: z.number().int().min(0).nullish(),
  temperature: z.number().min(0).max(100).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(-1).nullish(), // vLLM: -1 (or 0) = all ids
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  seed: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.number().int().min(1).max(1, 'this server returns one choice per prompt (n = 1)').nullish(),
  prompt_logprobs: z.number().int().min(0).nullish(),
};

const ids = z.array(z.number().int().min(0));
export const CompletionRequest = z.object({
  ...sampling,
  prompt: z.union([z.string(), z.array(z.string()).min(1), ids.min(1), z.array(ids.min(1)).min(1)]),
  logprobs: z.number().int().min(0).nullish(),
  echo: z.boolean().nullish(),
  return_tokens_as_token_ids: z.boolean().nullish(), // vLLM: logprobs.tokens as "token_id:N"
});
export type CompletionRequest = z.infer<typeof CompletionRequest>;

export const ChatRequest = z.object({
  ...sampling,
  max_completion_tokens: z.number().int().min(0).nullish(),
  messages: z.array(z.object({ role: z.enum(['system', 'user', 'assistant', 'developer']), content: z.union([z.string(), z.array(z.object({ type: z.literal('text'), text: z.string() }))]) })).min(1),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).nullish(),
});
export type ChatRequest = z.infer<typeof ChatRequest>;

/** `body` checked against `schema`; the first problem as a 400 naming its field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'the request body must be a JSON object');
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue.path.join('.') || '(body)';
  return badParamThrow(path, issue.message);
}

function badParamThrow(param: string, message: string): never {
  throw badParam(param, message);
}

/** Throws a 400 unless `n` log-probs per position is within the server's limit. */
export function checkLogprobs(param: string, n: number | null | undefined, limits: ServerLimits): void {
  if (n != null && n > limits.maxLogprobs) throw badParam(param, `${n} log-probs per position asked, this server gives at most ${limits.maxLogprobs} (distill serve --max-logprobs)`);
}

/** Throws a 400 unless prompt + completion fit the context and max_tokens the server's cap. */
export function checkLengths(promptTokens: number, maxTokens: number, context: number, limits: ServerLimits): void {
  if (maxTokens > limits.maxTokens) throw badParam('max_tokens', `${maxTokens} asked, this server generates at most ${limits.maxTokens} (distill serve --max-tokens)`);
  if (promptTokens + maxTokens > context) {
    throw badParam('prompt', `this model's maximum context length is ${context} tokens, but ${promptTokens + maxTokens} were requested (${promptTokens} in the prompt, ${maxTokens} for the completion); shorten the prompt or lower max_tokens`);
  }
}
