// Sample continuations of a model for a run's report: each prompt encoded with BOS, continued by
// model/generate, decoded back to text (prompt included), with the continuation's ids (for the
// diversity measures). It logs and writes nothing itself.
import { createStreamDecoder, type Tokenizer } from '../data/index.js';
import type { Backend } from '../engine/backend.js';
import { generate, type Model } from '../model/index.js';

export interface SampleSettings { prompts: string[]; maxTokens: number; temperature: number }

export interface Sample { text: string; tokens: number[] }

/** Prompt + continuation per prompt, stopping at EOS/BOS; sampled from `seed` unless greedy (temperature 0). */
export function sampleContinuations(be: Backend, model: Model, tok: Tokenizer, s: SampleSettings, seed: number): Sample[] {
  return s.prompts.map((prompt) => {
    const out = generate(be, model, tok.encode(prompt, { bos: true }), {
      maxNewTokens: s.maxTokens, temperature: s.temperature, seed,
      stopIds: [tok.eosId, tok.bosId].filter((x): x is number => x !== null),
    });
    const dec = createStreamDecoder(tok);
    return { text: prompt + out.tokens.map((t) => dec.push(t)).join('') + dec.flush(), tokens: out.tokens };
  });
}

