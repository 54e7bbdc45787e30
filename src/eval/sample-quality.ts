// Quality of a model's generations as a judge model sees them: each prompt is continued by the
// model (sampled, seeded per prompt), then the judge (a teacher) scores the continuation — mean
// negative log-likelihood per continuation token under the judge — and the continuation's
// repetition rate is counted (the share of its n-grams that already occurred in it). The measures
// of generation quality an on-policy student is meant to improve. It trains nothing.
import type { Backend } from '../engine/backend.js';
import { createActivations, forward, generate, type Model } from '../model/index.js';
import { EvalError } from './errors.js';

export interface SampleQualityOptions {
  /** New tokens per prompt at most (fewer at a stop id or the context's end). */
  maxNewTokens: number;
  temperature: number;
  /** Prompt i samples from seed + i. */
  seed: number;
  stopIds: readonly number[];
  /** n of the repeated n-grams (default 4). */
  ngram?: number;
}

export interface SampleQualityResult {
  /** Mean judge NLL (nats) per continuation token, over all prompts' tokens. */
  judgeNll: number;
  /** Repeated n-grams / n-grams, over all continuations. */
  repetition: number;
  /** Mean continuation length in tokens. */
  meanTokens: number;
  continuations: number[][];
}

/** The n-grams of `ids` that equal an earlier n-gram of `ids`, and how many n-grams there are. */
export function repeatedNgrams(ids: readonly number[], n: number): { repeated: number; total: number } {
  const seen = new Set<string>();
  let repeated = 0, total = 0;
  for (let i = 0; i + n <= ids.length; i++) {
    const key = ids.slice(i, i + n).join(',');
    if (seen.has(key)) repeated++; else seen.add(key);
    total++;
  }
  return { repeated, total };
}

/** Judge NLL (nats, summed) of `cont` following `prompt` (ids), and the token count. */
export function judgeNllSum(be: Backend, judge: Model, prompt: readonly number[], cont: readonly number[]): { sum: number; count: number } {
  const seq = [...prompt, ...cont];
  const L = seq.length - 1;
  if (cont.length === 0) return { sum: 0, count: 0 };
  if (L > judge.config.maxSeqLen) throw new EvalError(`judge context ${judge.config.maxSeqLen} is shorter than prompt + continuation (${L} positions)`);
  const V = judge.config.vocabSize;
  const acts = createActivations(judge.config, 1, L, { training: false, allLogits: true });
  const logits = forward(be, judge, acts, Int32Array.from(seq.slice(0, L)), 1, L);
  const targets = Int32Array.from(seq.slice(1), (id, t) => (t + 1 >= prompt.length ? id : -1));
  const rowLoss = new Float32Array(L), lse = new Float32Array(L);
  be.crossEntropyForward(rowLoss, lse, logits, targets, L, V, -1);
  let sum = 0;
  for (let t = prompt.length - 1; t < L; t++) sum += rowLoss[t];
  return { sum, count: cont.length };
}

/** Continues every prompt (ids, BOS first) with `model` and scores the continuations with `judge`. */
export function sampleQuality(be: Backend, model: Model, judge: Model, prompts: readonly (readonly number[])[], o: SampleQualityOptions): SampleQualityResult {
  const n = o.ngram ?? 4;
  let nll = 0, tokens = 0, repeated = 0, grams = 0;
  const continuations: number[][] = [];
  prompts.forEach((p, i) => {
    const cont = generate(be, model, p, { maxNewTokens: o.maxNewTokens, temperature: o.temperature, seed: o.seed + i, stopIds: o.stopIds }).tokens;
    continuations.push(cont);
    const j = judgeNllSum(be, judge, p, cont);
    nll += j.sum; tokens += j.count;
    const r = repeatedNgrams(cont, n);
    repeated += r.repeated; grams += r.total;
  });
  return { judgeNll: tokens > 0 ? nll / tokens : 0, repetition: grams > 0 ? repeated / grams : 0, meanTokens: tokens / Math.max(1, prompts.length), continuations };
}
