// Shapes, FLOP counts and the fp32 peak of the step benchmarks (bench/step.ts): the issue-5
// teacher (stories15M-shaped) and 5M student, batch 8, seq 256. bench/torch_step_bench.py holds
// the same numbers for PyTorch. No timing or model code here.
import type { ModelConfig } from '../src/model/index.js';

export const B = 8;
export const T = 256;
export const VOCAB = 32000;
/** α of α·CE + (1−α)·KD and the temperature: the recipe defaults (src/recipe/schema.ts). */
export const ALPHA = 0.5;
export const TEMPERATURE = 1;
export const LR = 1e-3;
/** Global grad-norm clip, as the training loop applies before AdamW (recipe default 1.0). */
export const CLIP = 1.0;

function llama(dim: number, nLayers: number, nHeads: number, hiddenDim: number): ModelConfig {
  return {
    family: 'llama', dim, nLayers, nHeads, nKvHeads: nHeads, hiddenDim, vocabSize: VOCAB, maxSeqLen: T,
    normEps: 1e-5, ropeTheta: 10000, ropeMode: 'interleaved', tiedEmbeddings: true, qkvBias: false,
  };
}

/** stories15M-shaped teacher: dim 288, 6 layers, 6 heads (HS 48), hidden 768. */
export const TEACHER = llama(288, 6, 6, 768);
/** 5M student: dim 128, 4 layers, 4 heads (HS 32), hidden 384. */
export const STUDENT = llama(128, 4, 4, 384);

/** The issue-5 workloads, then the two with the teacher in bf16 (ModelTeacher precision 'bf16';
 *  PyTorch: the teacher module cast to bfloat16). Model FLOPs are counted the same either way. */
export type Workload = 'teacher-forward' | 'ce-step' | 'kd-step' | 'teacher-forward-bf16' | 'kd-step-bf16' | 'teacher-hidden' | 'teacher-hidden-bf16';
export const WORKLOADS: Workload[] = ['teacher-forward', 'ce-step', 'kd-step', 'teacher-forward-bf16', 'kd-step-bf16'];
/** Only for the llama.cpp rows (bench/llama-cpp-row.ts): the teacher forward to its final hidden
 *  states, no head — what llama.cpp's prompt processing computes (it runs the head for the last
 *  position only). */
export const HIDDEN_WORKLOADS: Workload[] = ['teacher-hidden', 'teacher-hidden-bf16'];
/** The workload without its teacher-precision suffix. */
export const baseWorkload = (w: Workload): 'teacher-forward' | 'ce-step' | 'kd-step' | 'teacher-hidden' =>
  w.replace(/-bf16$/, '') as 'teacher-forward' | 'ce-step' | 'kd-step' | 'teacher-hidden';
export const teacherPrecision = (w: Workload): 'fp32' | 'bf16' => (w.endsWith('-bf16') ? 'bf16' : 'fp32');

/** Weights every token multiplies by once in a forward: the blocks' projections plus the head
 *  (tied to the embedding, so the table counts once, as the head). Norm weights are left out. */
export function matmulParams(c: ModelConfig): number {
  const kv = (c.dim / c.nHeads) * c.nKvHeads;
  const block = c.dim * c.dim * 2 + c.dim * kv * 2 + 3 * c.dim * c.hiddenDim;
  return c.nLayers * block + c.vocabSize * c.dim;
}

/**
 * Model FLOPs per token (the PaLM / nanoGPT `estimate_mfu` convention):
 * forward = 2·P + 4·L·T·C (P matmul weights, attention scores and mixing over all T keys,
 * the causal mask's skipped half counted too); a training step = 3× forward = 6·P + 12·L·T·C.
 * KD step = teacher forward + student training step. Elementwise ops, norms, softmax and the
 * optimizer are not counted (a few % at these shapes).
 */
export function forwardFlopsPerToken(c: ModelConfig): number {
  return 2 * matmulParams(c) + 4 * c.nLayers * T * c.dim;
}

/** The forward without the head (V·C weights): per token of a teacher-hidden workload, and of
 *  llama.cpp's prompt processing (all positions but the last). */
export function hiddenFlopsPerToken(c: ModelConfig): number {
  return forwardFlopsPerToken(c) - 2 * c.vocabSize * c.dim;
}

export function flopsPerToken(workload: Workload): number {
  const student = 3 * forwardFlopsPerToken(STUDENT);
  const w = baseWorkload(workload);
  if (w === 'teacher-forward') return forwardFlopsPerToken(TEACHER);
  if (w === 'teacher-hidden') return hiddenFlopsPerToken(TEACHER);
  if (w === 'ce-step') return student;
  return forwardFlopsPerToken(TEACHER) + student;
}

/** One workload's measurement (one JSON line from bench/step-worker.ts or the PyTorch script). */
export interface StepResult {
  workload: Workload;
  tokensPerSec: number;
  stepSeconds: number;
  steps: number;
  peakRssBytes: number;
  /** PyTorch only: why it could not run this workload here (the other fields are then absent). */
  error?: string;
}
