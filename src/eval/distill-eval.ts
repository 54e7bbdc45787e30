// Evaluation of a student during and after distillation, over non-overlapping validation
// windows: mean next-token loss, and against the teacher (when there is one) the mean
// KL(teacher ‖ student) per token at T = 1 and the top-1 agreement of their argmaxes.
// It does not train and keeps no state between calls.
import { DEFAULT_IGNORE_INDEX, type Backend } from '../engine/backend.js';
import { evalWindows, type TokenStream } from '../data/batcher.js';
import { type Activations, type Model, forward } from '../model/index.js';
import type { Teacher } from '../teacher/teacher.js';

export interface DistillEvalResult {
  /** Mean next-token cross-entropy, nats. */
  valLoss: number;
  /** Mean KL(p_teacher ‖ p_student) per token, nats (null without a teacher). */
  klToTeacher: number | null;
  /** Fraction of positions where teacher and student argmaxes agree (null without a teacher). */
  top1Agreement: number | null;
  /** Tokens scored. */
  tokens: number;
  seconds: number;
}

export interface DistillEvalScratch {
  /** Per-row losses (B*T). */
  rowLoss: Float32Array;
  rowLse: Float32Array;
  rowKl: Float32Array;
  /** Top-1 value (unused) and ids of the student's and the teacher's rows (B*T each). */
  top1: Float32Array;
  top1Student: Int32Array;
  top1Teacher: Int32Array;
  inputs: Int32Array;
  targets: Int32Array;
}

export function createEvalScratch(B: number, T: number): DistillEvalScratch {
  const N = B * T;
  return {
    rowLoss: new Float32Array(N), rowLse: new Float32Array(N), rowKl: new Float32Array(N),
    top1: new Float32Array(N), top1Student: new Int32Array(N), top1Teacher: new Int32Array(N),
    inputs: new Int32Array(N), targets: new Int32Array(N),
  };
}

/**
 * Scores `tokens` in windows of T (window i = tokens[i*T .. i*T+T]; see data/batcher.ts),
 * B windows per forward, at most maxWindows windows. `acts` must hold all-position logits for
 * (B, T) (training activations do).
 */
export function evaluateStudent(be: Backend, student: Model, acts: Activations, teacher: Teacher | null,
  tokens: TokenStream, B: number, T: number, scratch: DistillEvalScratch, maxWindows = Infinity): DistillEvalResult {
  const start = performance.now();
  const V = student.config.vocabSize;
  let lossSum = 0, klSum = 0, agree = 0, count = 0, windows = 0;
  for (const batch of evalWindows(tokens, B, T)) {
    const rows = Math.min(batch.rows, maxWindows - windows);
    if (rows <= 0) break;
    windows += rows;
    const N = rows * T;
    const inputs = scratch.inputs.subarray(0, N), targets = scratch.targets.subarray(0, N);
    for (let r = 0; r < rows; r++) {
      for (let t = 0; t < T; t++) {
        inputs[r * T + t] = batch.data[r * (T + 1) + t];
        targets[r * T + t] = batch.data[r * (T + 1) + t + 1];
      }
    }
    let teacherLogits: Float32Array | null = null;
    if (teacher) {
      teacherLogits = teacher.logits(inputs, rows, T);
    }
    const logits = forward(be, student, acts, inputs, rows, T);
    be.crossEntropyForward(scratch.rowLoss, scratch.rowLse, logits, targets, N, V, -1);
    for (let i = 0; i < N; i++) lossSum += scratch.rowLoss[i];
    if (teacherLogits) {
      const TV = teacher!.vocabSize;
      const tl = TV === V ? teacherLogits : sliceVocab(teacherLogits, N, TV, V);
      // KL(teacher ‖ student) at T = 1 per row, and where their argmaxes (top-1, ties to the lower id) agree
      const kl = be.kdForwardBackward({
        dStudent: null, rowLosses: scratch.rowKl, student: logits, teacher: { kind: 'logits', logits: tl }, targets: null, N, V,
        divergence: { kind: 'forward-kl' }, temperature: 1, scaleT2: false, ignoreIndex: DEFAULT_IGNORE_INDEX, gradScale: 1, accumulate: false,
      });
      klSum += kl.loss * N;
      be.topkForward(scratch.top1, scratch.top1Student, logits, N, V, 1);
      be.topkForward(scratch.top1, scratch.top1Teacher, tl, N, V, 1);
      for (let i = 0; i < N; i++) if (scratch.top1Student[i] === scratch.top1Teacher[i]) agree++;
    }
    count += N;
  }
  return {
    valLoss: count ? lossSum / count : NaN,
    klToTeacher: teacher ? (count ? klSum / count : NaN) : null,
    top1Agreement: teacher ? (count ? agree / count : NaN) : null,
    tokens: count,
    seconds: (performance.now() - start) / 1000,
  };
}

/** The first V columns of (N, TV) logits: a padded teacher head's extra rows sliced off. */
export function sliceVocab(logits: Float32Array, N: number, TV: number, V: number): Float32Array {
  const out = new Float32Array(N * V);
  for (let i = 0; i < N; i++) out.set(logits.subarray(i * TV, i * TV + V), i * V);
  return out;
}
