// The model a server holds and the two things it does with it: score a prompt (next-token
// log-probs at every position: vLLM's prompt_logprobs) and generate step by step. Each call takes
// its turn on the model (job-queue.ts); buffers are made once. It parses no requests and formats
// no responses.
import type { Tokenizer } from '../data/index.js';
import type { Backend } from '../engine/backend.js';
import {
  createActivations, createGenerationState, forward, generateSteps, type Activations, type GenerateOptions, type GenerateResult,
  type GenerationState, type GenerationStep, type Model,
} from '../model/index.js';
import { JobQueue } from './job-queue.js';
import { rankOf, rowLogprobs } from './logprobs.js';

/** What /distill/info and /v1/models say of the served model (an http teacher checks it). */
export interface ServedInfo {
  /** The id clients name in `model`. */
  id: string;
  description: string;
  /** Content identity of the model (sha256 of config and weights). */
  modelIdentity: string;
  /** Tokenizer.identity() of the tokenizer the server encodes and decodes with. */
  tokenizerIdentity: string;
  tokenizerSource: string;
  /** Ids of the model's distribution (its head), and of the tokenizer. */
  vocabSize: number;
  tokenizerVocabSize: number;
  maxSeqLen: number;
}

/** One scored prompt position: the prompt token there, its log-prob and rank, and the top ids. */
export interface ScoredPosition { token: number; logprob: number; rank: number; top: number[]; topLogprobs: number[] }

export class ServedModel {
  readonly queue: JobQueue;
  private gen: GenerationState | null = null;
  private acts: Activations | null = null;

  constructor(readonly be: Backend, readonly model: Model, readonly tokenizer: Tokenizer, readonly info: ServedInfo,
    readonly stopIds: readonly number[], maxConcurrent: number) {
    this.queue = new JobQueue(maxConcurrent);
  }

  /** Per prompt position i: null at 0, else the distribution after ids[0..i) (top k, and ids[i]). */
  score(ids: readonly number[], k: number): Promise<(ScoredPosition | null)[]> {
    return this.queue.turn(() => {
      const c = this.model.config, P = ids.length;
      this.acts ??= createActivations(c, 1, c.maxSeqLen, { training: false, allLogits: true });
      const logits = forward(this.be, this.model, this.acts, Int32Array.from(ids), 1, P);
      const out: (ScoredPosition | null)[] = [null];
      for (let i = 1; i < P; i++) {
        const { lp, top } = rowLogprobs(logits.subarray((i - 1) * c.vocabSize, i * c.vocabSize), k);
        out.push({ token: ids[i], logprob: lp[ids[i]], rank: rankOf(lp, ids[i]), top, topLogprobs: top.map((j) => lp[j]) });
      }
      return out;
    });
  }

  /**
   * Generates from `ids`, calling `onStep` after each token (it may await, e.g. to write a stream
   * chunk, and returns false to stop early: a stop string was met or the client went away).
   */
  generate(ids: readonly number[], opts: GenerateOptions, onStep: (s: GenerationStep) => Promise<boolean> | boolean): Promise<GenerateResult & { stoppedByCaller: boolean }> {
    return this.queue.turn(async () => {
      this.gen ??= createGenerationState(this.model);
      const steps = generateSteps(this.be, this.model, ids, { ...opts, stopIds: this.stopIds, state: this.gen });
      for (;;) {
        const s = steps.next();
        if (s.done) return { ...s.value, stoppedByCaller: false };
        if (!(await onStep(s.value))) return { tokens: [], finishReason: 'stop' as const, stoppedByCaller: true };
      }
    });
  }
}
