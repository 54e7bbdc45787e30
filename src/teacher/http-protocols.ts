// What a scoring server is sent and how its answer becomes sparse teacher rows, per protocol —
// pure functions, so recorded answers of the real servers (test/fixtures/http/) are parsed by
// the same code as live ones. A window of T ids is sent with one more id after it, so that the
// server's per-prompt-position top-k log-probs (null at position 0) hold the distribution after
// each of the T ids: row t = entry t+1. Log-probs are at T = 1; the tail is 1 − Σ p of the k kept.
//   vllm:   POST /v1/completions {prompt: ids, prompt_logprobs: k, max_tokens: 1}; answer
//           choices[0].prompt_logprobs = [null, {"<id>": {logprob, rank, decoded_token}}, ...]
//           (vLLM docs, "Extra Parameters" of the OpenAI-compatible server, and vllm/logprobs.py:
//           PromptLogprobs = list[Optional[dict[int, Logprob]]] with Logprob {logprob, rank, decoded_token}).
//   sglang: POST /generate {input_ids, return_logprob, logprob_start_len: 0, top_logprobs_num: k,
//           sampling_params: {max_new_tokens: 0}}; answer meta_info.input_top_logprobs =
//           [null, [[logprob, id, text|null], ...], ...] (SGLang docs, "Native APIs" and
//           "Sampling Parameters": return_logprob, logprob_start_len, top_logprobs_num).
// It sends nothing itself (http-endpoints.ts does).
import { TeacherError } from './teacher.js';

export type ScoringProtocol = 'vllm' | 'sglang';

export interface ScoreRequest { path: string; body: unknown }

/** One window's rows: ids (T,k), log-probs (T,k) at T = 1, tail (T); plus the prompt tokens' decoded text where the server gave it. */
export interface ScoredWindow { ids: Int32Array; logProbs: Float32Array; tail: Float32Array; decoded: (string | null)[] }

/** The request scoring `window` (the extra id after it is the window's first: any valid id serves). */
export function scoreRequest(protocol: ScoringProtocol, model: string, window: ArrayLike<number>, k: number): ScoreRequest {
  const ids = [...Array.from(window), window[0]];
  if (protocol === 'vllm') return { path: '/v1/completions', body: { model, prompt: ids, max_tokens: 1, temperature: 0, prompt_logprobs: k } };
  return {
    path: '/generate',
    body: { input_ids: ids, sampling_params: { max_new_tokens: 0, temperature: 0 }, return_logprob: true, logprob_start_len: 0, top_logprobs_num: k, return_text_in_logprobs: true },
  };
}

/** One position's candidates as [id, logprob] pairs, and the prompt token's decoded text when given. */
type Entry = { cands: [number, number][]; decoded: string | null };

function fail(endpoint: string, what: string): never {
  throw new TeacherError(`teacher server ${endpoint}: ${what}`);
}

/** The per-position entries of a vLLM answer (length T+2 expected: the window, the extra id). */
function vllmEntries(endpoint: string, json: unknown, ids: number[]): Entry[] {
  const choice = (json as { choices?: { prompt_logprobs?: unknown }[] } | null)?.choices?.[0];
  if (!choice) fail(endpoint, 'its answer has no choices[0]: not an OpenAI-compatible completions answer');
  const pl = choice.prompt_logprobs;
  if (!Array.isArray(pl)) fail(endpoint, 'its answer has no prompt_logprobs: the server does not support vLLM\'s prompt_logprobs extension, so it cannot score windows (an OpenAI-only server can only generate: protocol openai)');
  return pl.map((e, i) => {
    if (e === null) return { cands: [], decoded: null };
    if (typeof e !== 'object') fail(endpoint, `prompt_logprobs[${i}] is ${JSON.stringify(e)}, not a {token id: {logprob}} object`);
    let decoded: string | null = null;
    const cands = Object.entries(e as Record<string, { logprob?: unknown; decoded_token?: unknown }>).map(([id, v]): [number, number] => {
      const n = Number(id);
      if (!Number.isInteger(n) || typeof v?.logprob !== 'number') fail(endpoint, `prompt_logprobs[${i}] has entry ${JSON.stringify(id)}: ${JSON.stringify(v)}, not a token id with a numeric logprob`);
      if (n === ids[i] && typeof v.decoded_token === 'string') decoded = v.decoded_token;
      return [n, v.logprob];
    });
    return { cands, decoded };
  });
}

/** The per-position entries of an SGLang answer. */
function sglangEntries(endpoint: string, json: unknown, ids: number[]): Entry[] {
  const mi = (json as { meta_info?: { input_top_logprobs?: unknown; input_token_logprobs?: unknown } } | null)?.meta_info;
  const top = mi?.input_top_logprobs;
  if (!Array.isArray(top)) fail(endpoint, 'its answer has no meta_info.input_top_logprobs: ask it with return_logprob, logprob_start_len 0 and top_logprobs_num (an SGLang /generate server)');
  const toks = Array.isArray(mi!.input_token_logprobs) ? mi!.input_token_logprobs as unknown[] : [];
  return top.map((e, i) => {
    const t = toks[i];
    const decoded = Array.isArray(t) && t[1] === ids[i] && typeof t[2] === 'string' ? t[2] : null;
    if (e === null || (Array.isArray(e) && e.length === 0)) return { cands: [], decoded };
    if (!Array.isArray(e)) fail(endpoint, `input_top_logprobs[${i}] is ${JSON.stringify(e)}, not a list of [logprob, id, text]`);
    return {
      decoded,
      cands: e.map((c: unknown): [number, number] => {
        if (!Array.isArray(c) || typeof c[0] !== 'number' || !Number.isInteger(c[1])) fail(endpoint, `input_top_logprobs[${i}] holds ${JSON.stringify(c)}, not [logprob, token id, text]`);
        return [c[1] as number, c[0] as number];
      }),
    };
  });
}

/**
 * The rows of one scored window of T ids: the top k of each position's candidates (ties: lower
 * id first), ids checked against vocabulary V. Throws naming the endpoint and what it lacks: no
 * per-position log-probs, too few of them (fewer than k), ids outside V, the wrong length.
 */
export function parseScored(protocol: ScoringProtocol, endpoint: string, json: unknown, window: ArrayLike<number>, k: number, V: number): ScoredWindow {
  const T = window.length, sent = [...Array.from(window), window[0]];
  const entries = protocol === 'vllm' ? vllmEntries(endpoint, json, sent) : sglangEntries(endpoint, json, sent);
  if (entries.length < T + 1) fail(endpoint, `it scored ${entries.length} prompt positions, ${T + 1} were sent`);
  const ids = new Int32Array(T * k), logProbs = new Float32Array(T * k), tail = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    const c = entries[t + 1].cands;
    if (c.length < k) fail(endpoint, `it returned ${c.length} log-probs at prompt position ${t + 1}, ${k} were asked: the server caps them (vLLM: --max-logprobs) or ignores the request; lower topK or raise the server's limit`);
    c.sort((a, b) => (b[1] - a[1]) || (a[0] - b[0]));
    let p = 0;
    for (let e = 0; e < k; e++) {
      const [id, lp] = c[e];
      if (id < 0 || id >= V) fail(endpoint, `it returned token id ${id} at prompt position ${t + 1}, outside the run's vocabulary of ${V}: a different vocabulary`);
      if (!(lp <= 1e-6)) fail(endpoint, `it returned log-prob ${lp} for id ${id} at prompt position ${t + 1}, not a log-probability`);
      ids[t * k + e] = id;
      logProbs[t * k + e] = lp;
      p += Math.exp(lp);
    }
    tail[t] = Math.max(0, 1 - p);
  }
  return { ids, logProbs, tail, decoded: entries.slice(0, T).map((e) => e.decoded) };
}
