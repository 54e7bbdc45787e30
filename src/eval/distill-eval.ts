// Evaluation of a model over non-overlapping windows of a token stream (data/batcher.ts
// evalWindows): the mean next-token loss — the one validation loss, used during training, after
// it and by `distill eval` — and, against a teacher, the mean KL(teacher ‖ student) per token at
// T = 1 and the top-1 agreement of their argmaxes; the top-1 next-token accuracy, all on the backend's ops. Also a teacher's own
// loss on the same windows. It does not train and keeps no state between calls.
import { DEFAULT_IGNORE_INDEX, type Backend } from '../engine/backend.js';
import { evalWindows, splitWindows, type TokenStream } from '../data/batcher.js';
import { type Activations, type Model, forward } from '../model/index.js';
import type { Teacher } from '../teacher/teacher.js';
import { EvalError } from './errors.js';

export interface DistillEvalResult {
  /** Mean next-token cross-entropy, nats. */
  valLoss: number;
  /** Mean KL(p_teacher ‖ p_student) per token, nats (null without a teacher). */
  klToTeacher: number | null;
  /** Fraction of positions where teacher and student argmaxes agree (null without a teacher). */
  top1Agreement: number | null;
  /** Fraction of positions where the student's argmax (ties to the lower id) is the target. */
  top1Accuracy: number;
  /** Windows and tokens scored. */
  windows: number;
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
  /** Each window's first position in the stream (B). */
  offsets: Int32Array;
}

export function createEvalScratch(B: number, T: number): DistillEvalScratch {
  const N = B * T;
  return {
    rowLoss: new Float32Array(N), rowLse: new Float32Array(N), rowKl: new Float32Array(N),
    top1: new Float32Array(N), top1Student: new Int32Array(N), top1Teacher: new Int32Array(N),
    inputs: new Int32Array(N), targets: new Int32Array(N), offsets: new Int32Array(B),
  };
}

/** Where the windows come from: the split a teacher is asked about, a name for errors. */
export interface EvalSource { tokens: TokenStream; split: 'train' | 'val'; what?: string }

interface EvalBatchRows { rows: number; N: number; inputs: Int32Array; targets: Int32Array; offsets: Int32Array }

/** The windows of `tokens` in batches of at most B, at most maxWindows in all, cut into the
 *  scratch's inputs/targets/offsets (the same windows for a student and its teacher). */
function* batches(src: EvalSource, B: number, T: number, s: DistillEvalScratch, maxWindows: number): Generator<EvalBatchRows> {
  let windows = 0;
  for (const batch of evalWindows(src.tokens, B, T, src.what)) {
    const rows = Math.min(batch.rows, maxWindows - windows);
    if (rows <= 0) return;
    windows += rows;
    const N = rows * T;
    splitWindows(s.inputs, s.targets, batch.data, rows, T);
    for (let r = 0; r < rows; r++) s.offsets[r] = (batch.first + r) * T;
    yield { rows, N, inputs: s.inputs.subarray(0, N), targets: s.targets.subarray(0, N), offsets: s.offsets };
  }
}

/** The sum of the first N entries. */
function sum(a: Float32Array, N: number): number {
  let s = 0;
  for (let i = 0; i < N; i++) s += a[i];
  return s;
}

/**
 * Scores `src.tokens` in windows of T (window i = tokens[i*T .. i*T+T]; see data/batcher.ts),
 * B windows per forward, at most maxWindows windows. `acts` must hold all-position logits for
 * (B, T). With a teacher: its logits for the same windows (cut to the student's V).
 * onProgress: called after each batch with the windows scored so far (a progress line).
 */
export async function evaluateStudent(be: Backend, student: Model, acts: Activations, teacher: Teacher | null,
  src: EvalSource, B: number, T: number, scratch: DistillEvalScratch, maxWindows = Infinity,
  onProgress?: (windows: number) => void): Promise<DistillEvalResult> {
  const start = performance.now();
  const V = student.config.vocabSize;
  let lossSum = 0, klSum = 0, agree = 0, correct = 0, count = 0, windows = 0;
  for (const { rows, N, inputs, targets, offsets } of batches(src, B, T, scratch, maxWindows)) {
    const t = teacher ? await teacher.predict({ tokens: inputs, B: rows, T, split: src.split, offsets, V, accept: ['logits'], temperature: 1 }) : null;
    const logits = forward(be, student, acts, inputs, rows, T);
    be.crossEntropyForward(scratch.rowLoss, scratch.rowLse, logits, targets, N, V, DEFAULT_IGNORE_INDEX);
    lossSum += sum(scratch.rowLoss, N);
    be.topkForward(scratch.top1, scratch.top1Student, logits, N, V, 1);
    for (let i = 0; i < N; i++) if (scratch.top1Student[i] === targets[i]) correct++;
    if (t) {
      if (t.kind !== 'logits') throw new EvalError(`evaluateStudent: teacher ${teacher!.description} answered with ${t.kind} rows, not logits`);
      // KL(teacher ‖ student) at T = 1 per row, and where their argmaxes (top-1, ties to the lower id) agree
      const kl = be.kdForwardBackward({
        dStudent: null, rowLosses: scratch.rowKl, student: logits, teacher: { kind: 'logits', logits: t.logits }, targets: null, N, V,
        divergence: { kind: 'forward-kl' }, temperature: 1, scaleT2: false, ignoreIndex: DEFAULT_IGNORE_INDEX, gradScale: 1, accumulate: false,
      });
      klSum += kl.loss * N;
      be.topkForward(scratch.top1, scratch.top1Teacher, t.logits, N, V, 1);
      for (let i = 0; i < N; i++) if (scratch.top1Student[i] === scratch.top1Teacher[i]) agree++;
    }
    count += N;
    windows += rows;
    onProgress?.(windows);
  }
  return {
    valLoss: count ? lossSum / count : NaN,
    klToTeacher: teacher ? (count ? klSum / count : NaN) : null,
    top1Agreement: teacher ? (count ? agree / count : NaN) : null,
    top1Accuracy: count ? correct / count : NaN,
    windows, tokens: count,
    seconds: (performance.now() - start) / 1000,
  };
}

/** A teacher's own mean next-token loss over the same windows (over its whole vocabulary). */
export async function evaluateTeacher(be: Backend, teacher: Teacher, src: EvalSource, B: number, T: number,
  scratch: DistillEvalScratch, maxWindows = Infinity): Promise<{ valLoss: number; tokens: number }> {
  const V = teacher.vocabSize;
  let lossSum = 0, count = 0;
  for (const { rows, N, inputs, targets, offsets } of batches(src, B, T, scratch, maxWindows)) {
    const t = await teacher.predict({ tokens: inputs, B: rows, T, split: src.split, offsets, V, accept: ['logits'], temperature: 1 });
    if (t.kind !== 'logits') throw new EvalError(`evaluateTeacher: teacher ${teacher.description} answered with ${t.kind} rows, not logits`);
    be.crossEntropyForward(scratch.rowLoss, scratch.rowLse, t.logits, targets, N, V, DEFAULT_IGNORE_INDEX);
    lossSum += sum(scratch.rowLoss, N);
    count += N;
  }
  return { valLoss: count ? lossSum / count : NaN, tokens: count };
}
