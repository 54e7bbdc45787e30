// Generation as both endpoints need it: ids in, text out, stopping at the model's EOS ids (in
// ServedModel), at max_tokens, or at a stop string (the text is cut before it; while streaming,
// text that could begin a stop string is held back until it cannot), with each token's log-prob
// and top alternatives at T = 1 when asked. Deltas go to an optional callback for streaming. It
// does not parse requests or shape responses.
import type { Tokenizer } from '../data/index.js';
import { rowLogprobs } from './logprobs.js';
import type { ServedModel } from './served-model.js';

export interface GenerationParams {
  maxTokens: number;
  temperature: number;
  topP: number;
  /** 0 = all ids. */
  topK: number;
  seed: number;
  stop: readonly string[];
  /** Top alternatives per generated token; null: no log-probs. */
  logprobs: number | null;
}

export interface TokenText { id: number; text: string; bytes: number[] }
export interface TokenLogprob extends TokenText { logprob: number; top: (TokenText & { logprob: number })[] }

export interface GeneratedText {
  text: string;
  tokens: TokenLogprob[];
  finishReason: 'stop' | 'length';
  completionTokens: number;
}

/** A delta of text (with the tokens it completes, when log-probs are asked); false: stop (the client left). */
export type DeltaSink = (text: string, tokens: TokenLogprob[]) => Promise<boolean>;

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** The text and bytes token `id` adds after `prev` (-1 at the start). */
export function tokenText(tok: Tokenizer, prev: number, id: number): TokenText {
  const b = tok.decodeToken(prev, id);
  return { id, text: utf8.decode(b), bytes: Array.from(b) };
}

export async function generateText(sm: ServedModel, promptIds: readonly number[], p: GenerationParams, onDelta?: DeltaSink): Promise<GeneratedText> {
  const tok = sm.tokenizer;
  if (p.maxTokens === 0) return { text: '', tokens: [], finishReason: 'length', completionTokens: 0 };
  const dec = new TextDecoder('utf-8', { fatal: false });
  const holdBack = p.stop.reduce((m, s) => Math.max(m, s.length - 1), 0);
  let full = '', emitted = 0, prev = promptIds[promptIds.length - 1], count = 0, cut = -1, clientLeft = false;
  const tokens: TokenLogprob[] = [];
  let pending: TokenLogprob[] = [];
  const flushTo = async (end: number): Promise<boolean> => {
    const e = Math.max(end, emitted);
    if (!onDelta || (e === emitted && pending.length === 0)) return true;
    const ok = await onDelta(full.slice(emitted, e), pending);
    emitted = e;
    pending = [];
    return ok;
  };
  const r = await sm.generate(promptIds, { maxNewTokens: p.maxTokens, temperature: p.temperature, topP: p.topP, topK: p.topK, seed: p.seed }, async (s) => {
    count++;
    full += dec.decode(tok.decodeToken(prev, s.id), { stream: true });
    if (p.logprobs !== null) {
      const { lp, top } = rowLogprobs(s.logits, p.logprobs);
      const t: TokenLogprob = { ...tokenText(tok, prev, s.id), logprob: lp[s.id], top: top.map((j) => ({ ...tokenText(tok, prev, j), logprob: lp[j] })) };
      tokens.push(t);
      pending.push(t);
    }
    prev = s.id;
    for (const stop of p.stop) {
      const at = stop.length > 0 ? full.indexOf(stop, Math.max(0, emitted - stop.length)) : -1;
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      full = full.slice(0, cut);
      if (!(await flushTo(cut))) clientLeft = true;
      return false;
    }
    if (!(await flushTo(full.length - holdBack))) { clientLeft = true; return false; }
    return true;
  });
  if (cut < 0 && !clientLeft) {
    full += dec.decode();
    await flushTo(full.length);
  }
  return { text: full, tokens, finishReason: cut >= 0 ? 'stop' : r.finishReason, completionTokens: count };
}
