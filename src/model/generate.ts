// Autoregressive generation for one sequence: prefill the prompt, then one token per step,
// attending over a KV cache (or, with useKvCache false, recomputing the whole prefix each step —
// the slow path tests compare against), whole or step by step (generateSteps, for a server that
// streams). It does not tokenize text (src/data/) or speak HTTP.

import type { Backend } from '../engine/backend.js';
import { Rng } from '../engine/rng.js';
import { type Activations, createActivations } from './activations.js';
import { type KvCache, createKvCache, resetKvCacheInPlace } from './kv-cache.js';
import type { Model } from './model.js';
import { forward } from './forward.js';
import { type SamplerScratch, type SamplingOptions, createSamplerScratch, sampleToken, validateSampling } from './sampling.js';
import { ModelError } from './errors.js';

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most (default 64). */
  maxNewTokens?: number;
  /** Rng seed for sampling (default 0, so runs repeat unless a seed is given). */
  seed?: number;
  /** Generation stops at the first of these ids; the stop id is not returned. */
  stopIds?: readonly number[];
  /** Attend over a KV cache (default true); false recomputes the prefix every step. */
  useKvCache?: boolean;
  /** Called with each new token as it is chosen (not with a stop id). */
  onToken?: (id: number) => void;
  /** Buffers to reuse across calls (from createGenerationState); allocated per call if absent. */
  state?: GenerationState;
}

export interface GenerateResult {
  /** The new tokens (prompt excluded, stop id excluded). */
  tokens: number[];
  /** 'stop': a stop id came; 'length': maxNewTokens reached or the context (maxSeqLen) is full. */
  finishReason: 'stop' | 'length';
}

/** Inference activations (B=1, T=maxSeqLen), a KV cache and sampler scratch for one model. */
export interface GenerationState {
  acts: Activations;
  cache: KvCache;
  scratch: SamplerScratch;
  /** The sequence so far (prompt + new), for the no-cache path. */
  seq: Int32Array;
}

export function createGenerationState(model: Model): GenerationState {
  const c = model.config;
  return {
    acts: createActivations(c, 1, c.maxSeqLen, { training: false }),
    cache: createKvCache(c),
    scratch: createSamplerScratch(c.vocabSize),
    seq: new Int32Array(c.maxSeqLen),
  };
}

/** One generated token and the logits row (V) it was chosen from; the row is a view valid until the next step. */
export interface GenerationStep { id: number; logits: Float32Array }

/**
 * Continues `promptIds` (at least one id, at most maxSeqLen) with up to maxNewTokens tokens.
 * Greedy at temperature 0; otherwise samples (temperature, topK, topP) from Rng(seed).
 * Stops early at a stop id or when the context reaches maxSeqLen (no sliding window).
 */
export function generate(be: Backend, model: Model, promptIds: ArrayLike<number>, opts: GenerateOptions = {}): GenerateResult {
  const steps = generateSteps(be, model, promptIds, opts);
  for (;;) {
    const s = steps.next();
    if (s.done) return s.value;
  }
}

/**
 * generate() one token at a time: yields each new token with the logits it was sampled from (a
 * server streams them and reports their log-probs) and returns the result. onToken is called too.
 */
export function* generateSteps(be: Backend, model: Model, promptIds: ArrayLike<number>, opts: GenerateOptions = {}): Generator<GenerationStep, GenerateResult, void> {
  const c = model.config;
  validateSampling(opts);
  const maxNew = opts.maxNewTokens ?? 64;
  if (!Number.isInteger(maxNew) || maxNew < 0) throw new ModelError(`generate: maxNewTokens must be a non-negative integer, got ${maxNew}`);
  const P = promptIds.length;
  if (P < 1) throw new ModelError('generate: the prompt is empty; pass at least one token (e.g. the BOS id)');
  if (P > c.maxSeqLen) throw new ModelError(`generate: the prompt has ${P} tokens but the model's context is ${c.maxSeqLen}; shorten it`);
  const st = opts.state ?? createGenerationState(model);
  if (st.scratch.V !== c.vocabSize || st.seq.length !== c.maxSeqLen) throw new ModelError('generate: opts.state was created for another model');
  const useCache = opts.useKvCache ?? true;
  const stop = new Set(opts.stopIds ?? []);
  const rng = new Rng(opts.seed ?? 0);
  for (let i = 0; i < P; i++) st.seq[i] = promptIds[i];
  resetKvCacheInPlace(st.cache);

  const out: number[] = [];
  let len = P;
  // Logits for the last position of the prompt.
  let logits = useCache
    ? forward(be, model, st.acts, st.seq.subarray(0, P), 1, P, { cache: st.cache, lastOnly: true })
    : forward(be, model, st.acts, st.seq.subarray(0, P), 1, P, { lastOnly: true });
  for (;;) {
    if (out.length >= maxNew) return { tokens: out, finishReason: 'length' };
    const id = sampleToken(be, logits, opts, rng, st.scratch);
    if (stop.has(id)) return { tokens: out, finishReason: 'stop' };
    out.push(id);
    opts.onToken?.(id);
    yield { id, logits };
    if (len >= c.maxSeqLen) return { tokens: out, finishReason: 'length' };
    st.seq[len++] = id;
    if (out.length >= maxNew) return { tokens: out, finishReason: 'length' };
    logits = useCache
      ? forward(be, model, st.acts, st.seq.subarray(len - 1, len), 1, 1, { cache: st.cache, lastOnly: true })
      : forward(be, model, st.acts, st.seq.subarray(0, len), 1, len, { lastOnly: true });
  }
}
