// On-policy distillation (GKD, Agarwal et al. 2024; loss.onPolicy): a λ share of micro-batches
// replace their windows by prompt + a continuation sampled from the student itself (KV cache),
// which the teacher then scores in the ordinary micro-step; only the continuation's positions
// carry loss. With seqKd the teacher samples the continuation instead (sequence-level KD, Kim &
// Rush 2016). Which draws are generated and every sample's seed are pure functions of (seed, draw
// index), so a run repeats and a resumed run replays without state. It computes no loss itself.
import type { Backend } from '../engine/backend.js';
import { createGenerationState, generate, type GenerationState, type Model } from '../model/index.js';
import type { Teacher } from '../teacher/teacher.js';
import { RunError } from './errors.js';

export interface OnPolicySettings {
  /** Share of micro-batches that are generated, in [0, 1]. */
  lambda: number;
  /** New tokens per row at most (fewer when the window is full or a stop id comes). */
  maxNewTokens: number;
  /** Sampling temperature of the continuations (0: greedy). */
  temperature: number;
  /** Prompt tokens taken from a plain-text window (pairs use their own prompt). */
  promptTokens: number;
  /** Teacher-generated continuations (sequence-level KD) instead of the student's. */
  seqKd: boolean;
}

/** splitmix32 of (seed, a, b): the on-policy coin of draw a (b = 0) and the seed of its row b-1. */
export function onPolicySeed(seed: number, a: number, b: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b9) + Math.imul(a + 1, 0x85ebca6b) + Math.imul(b + 1, 0xc2b2ae35) + 0x632be5ab) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Whether micro-batch draw `draw` is generated: its coin (uniform in [0,1)) is below λ. */
export function isGeneratedDraw(s: OnPolicySettings, seed: number, draw: number): boolean {
  return s.lambda > 0 && onPolicySeed(seed, draw, 0) / 4294967296 < s.lambda;
}

export interface GeneratedBatch {
  /** (B, T+1) prompt + continuation, padded. */
  windows: Int32Array;
  /** (B*T) 1 on the targets that are continuation tokens. */
  scored: Uint8Array;
  /** New tokens per row (B). */
  newTokens: Int32Array;
}

export class OnPolicyGenerator {
  private readonly state: GenerationState | null;

  /** student: the model sampled from (seqKd false); teacher: the one that samples with seqKd.
   *  stopIds end a continuation; pad fills the rest of a row (never scored). */
  constructor(private readonly be: Backend, private readonly student: Model, private readonly teacher: Teacher | null,
    readonly settings: OnPolicySettings, private readonly B: number, private readonly T: number, private readonly seed: number,
    private readonly stopIds: readonly number[], private readonly pad: number, source: string) {
    if (settings.seqKd && !teacher?.generate) throw new RunError(`${source}: key 'loss.onPolicy.seqKd': the teacher ${teacher?.description ?? '(none)'} cannot generate; sequence-level KD needs one that does (checkpoint, llama-cpp, http)`);
    if (!settings.seqKd && !teacher?.scoresAnyText) throw new RunError(`${source}: key 'loss.onPolicy': on-policy batches are scored by the teacher, and ${teacher?.description ?? 'no teacher'} cannot score the student's own text; use a checkpoint, onnx, llama-cpp or http teacher`);
    if (settings.promptTokens >= T) throw new RunError(`${source}: key 'loss.onPolicy.promptTokens': ${settings.promptTokens} leaves no room for a continuation in windows of train.seqLen ${T}; use fewer than ${T}`);
    this.state = settings.seqKd ? null : createGenerationState(student);
  }

  /**
   * Prompts from `windows` (B, T+1) — row b's first promptLens[b] tokens when given (pairs), else
   * its first promptTokens — continued by the student (or the teacher with seqKd) from seed
   * onPolicySeed(seed, draw, b+1). Loss goes on the continuation only.
   */
  async generateBatch(windows: Int32Array, draw: number, promptLens: Int32Array | null): Promise<GeneratedBatch> {
    const { B, T, settings: s } = this;
    const W = T + 1;
    const out = new Int32Array(B * W).fill(this.pad);
    const scored = new Uint8Array(B * T);
    const newTokens = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const P = Math.max(1, Math.min(promptLens ? promptLens[b] : s.promptTokens, T));
      const prompt = Array.from(windows.subarray(b * W, b * W + P));
      const opts = { maxNewTokens: Math.min(s.maxNewTokens, W - P), temperature: s.temperature, seed: onPolicySeed(this.seed, draw, b + 1), stopIds: this.stopIds };
      const r = s.seqKd ? await this.teacher!.generate!(prompt, opts) : generate(this.be, this.student, prompt, { ...opts, state: this.state! });
      out.set(prompt, b * W);
      out.set(r.tokens, b * W + P);
      newTokens[b] = r.tokens.length;
      for (let t = P - 1; t < P - 1 + r.tokens.length; t++) scored[b * T + t] = 1;
    }
    return { windows: out, scored, newTokens };
  }
}
