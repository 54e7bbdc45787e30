// Sample continuations of a model for a run's report: each prompt encoded with BOS, continued by
// model/generate, decoded back to text (prompt included). It logs and writes nothing itself.
import { createStreamDecoder, type Tokenizer } from '../data/index.js';
import type { Backend } from '../engine/backend.js';
import { generate, type Model } from '../model/index.js';

export interface SampleSettings { prompts: string[]; maxTokens: number; temperature: number }

/** Prompt + continuation per prompt, stopping at EOS/BOS; sampled from `seed` unless greedy (temperature 0). */
export function sampleTexts(be: Backend, model: Model, tok: Tokenizer, s: SampleSettings, seed: number): string[] {
  return s.prompts.map((prompt) => {
    const out = generate(be, model, tok.encode(prompt, { bos: true }), {
      maxNewTokens: s.maxTokens, temperature: s.temperature, seed,
      stopIds: [tok.eosId, tok.bosId].filter((x): x is number => x !== null),
    });
    const dec = createStreamDecoder(tok);
    return prompt + out.tokens.map((t) => dec.push(t)).join('') + dec.flush();
  });
}
