// One training micro-batch, the compute shared by the loop and the step benchmarks: teacher rows,
// student forward, α·CE + (1−α)·KD and its gradient, backward into the student's (accumulating)
// grads. Buffers are sized once. It does not draw batches, clip, step the optimizer or log.
// Fused path (default): student forward to its final hidden, then Backend.headLossForwardBackward
// (head GEMM + loss + head gradients, chunked over rows: no (N,V) array), then the backward from
// the hidden. Unfused path (divergence 'mse', or fusedHead: false): full logits + src/distill's
// α mix of the backend's CE and KD ops.
import type { Backend, HeadLossDivergence, HeadLossTeacher } from '../engine/backend.js';
import type { Divergence } from '../engine/loss-kinds.js';
import { createDistillLossScratch, distillLossForwardBackward, type DistillLossScratch } from '../distill/index.js';
import {
  backward, backwardFromHidden, createActivations, forward, forwardToHidden, grad, headParamName, param, type Activations, type Model,
} from '../model/index.js';
import { splitWindows } from '../data/batcher.js';
import type { Recipe } from '../recipe/schema.js';
import type { Teacher } from '../teacher/teacher.js';
import { TeacherStep } from './teacher-step.js';
import { CrossTeacherStep, type CrossTokenizerSetup } from './cross-teacher-step.js';
import { createCrossKdScratch, crossTokenizerKdForwardBackward, type CrossKdScratch, type CrossRows } from '../distill/cross-tokenizer-loss.js';
import type { HiddenDistill } from './hidden-distill.js';

/** The loss settings a micro-step needs (the recipe's `loss` block, minus schedules). */
export interface MicroStepLoss {
  divergence: Divergence;
  scaleT2: boolean;
  ignoreIndex: number;
  teacher: Recipe['loss']['teacher'];
  /** loss.crossTokenizer: the teacher speaks another tokenizer (unfused path, cross rows). */
  cross?: CrossTokenizerSetup;
}

/** Seconds per op group, summed over calls (the loop adds optimizer and eval). */
export interface MicroStepTimings { teacher: number; forward: number; loss: number; backward: number }

/** loss includes the hidden-state term (loss.hidden), also given alone as `hidden` (0 without it). */
export interface MicroStepResult { loss: number; ce: number; kd: number; hidden: number }

export interface MicroStepOptions {
  /** Use the fused head + loss op when the divergence allows it (all but 'mse'). Default true;
   *  false keeps the unfused path (full logits), e.g. to compare the two. */
  fusedHead?: boolean;
  /** The hidden-state term (recipe loss.hidden), added to the loss and its gradient. */
  hidden?: HiddenDistill | null;
}

export class MicroStep {
  readonly inputs: Int32Array;
  readonly targets: Int32Array;
  /** Stream position of each row's first token (B): stores of teacher rows are indexed by it. */
  readonly offsets: Int32Array;
  /** The training activations (no logits on the fused path). */
  private readonly trainActs: Activations;
  readonly timings: MicroStepTimings = { teacher: 0, forward: 0, loss: 0, backward: 0 };
  /** (N,V) gradient of the logits: unfused path only (empty when fused). */
  private readonly dLogits: Float32Array;
  /** The divergence when the fused head loss runs, else null. */
  private readonly fused: HeadLossDivergence | null;
  private readonly rowCe: Float32Array;
  private readonly rowKd: Float32Array;
  /** The unfused loss's per-row scratch (empty when fused). */
  private readonly lossScratch: DistillLossScratch;
  private readonly teacherStep: TeacherStep | null;
  /** Cross-tokenizer mode: the teacher step and the KD term's scratch (else null). */
  private readonly crossStep: CrossTeacherStep | null;
  private readonly crossScratch: CrossKdScratch | null;
  /** The windows of setWindows (B rows of T+1 ids), kept for the cross-tokenizer step. */
  private readonly windows: Int32Array;
  private readonly N: number;
  private readonly V: number;
  private readonly hidden: HiddenDistill | null;

  /** teacher null: hard labels only (the loss never needs it). */
  constructor(
    private readonly be: Backend, private readonly student: Model, teacher: Teacher | null,
    private readonly lossCfg: MicroStepLoss, readonly B: number, readonly T: number, opts: MicroStepOptions = {},
  ) {
    this.N = B * T;
    this.V = student.config.vocabSize;
    this.hidden = opts.hidden ?? null;
    const d = lossCfg.divergence;
    this.fused = (opts.fusedHead ?? true) && d.kind !== 'mse' && !(teacher && lossCfg.cross) ? d : null;
    this.trainActs = createActivations(student.config, B, T, { headLogits: !this.fused });
    this.dLogits = new Float32Array(this.fused ? 0 : this.N * this.V);
    this.rowCe = new Float32Array(this.N);
    this.rowKd = new Float32Array(this.N);
    this.lossScratch = createDistillLossScratch(this.fused ? 0 : this.N);
    this.inputs = new Int32Array(this.N);
    this.targets = new Int32Array(this.N);
    this.offsets = new Int32Array(B);
    const cross = teacher && lossCfg.cross ? lossCfg.cross : null;
    this.teacherStep = teacher && !cross ? new TeacherStep(teacher, lossCfg.teacher, this.N, this.V) : null;
    this.crossStep = teacher && cross ? new CrossTeacherStep(teacher, cross, B, T, this.V, lossCfg.ignoreIndex) : null;
    this.crossScratch = cross ? createCrossKdScratch(this.N, this.V) : null;
    this.windows = new Int32Array(cross ? B * (T + 1) : 0);
  }

  /** Splits B windows of T+1 ids (row-major) into inputs and next-token targets; offsets (B)
   *  are the windows' stream positions (0s when the source has none, e.g. benchmarks). scored
   *  (B*T): targets where it is 0 become the ignore index (a pair's prompt: no CE, no KD). */
  setWindows(windows: Int32Array, offsets?: Int32Array, scored?: Uint8Array | null): void {
    const { B, T } = this;
    if (offsets) this.offsets.set(offsets.subarray(0, B)); else this.offsets.fill(0);
    if (this.crossStep) this.windows.set(windows.subarray(0, B * (T + 1)));
    splitWindows(this.inputs, this.targets, windows, B, T);
    if (scored) for (let i = 0; i < B * T; i++) if (scored[i] === 0) this.targets[i] = this.lossCfg.ignoreIndex;
  }

  /**
   * Forward and backward of the micro-batch set by setWindows. Gradients of
   * gradScale · (α·CE + (1−α)·KD) are ACCUMULATED into student.grads. With no teacher, α is 1.
   * Awaits the teacher once; the rest runs synchronously.
   */
  async run(alpha: number, temperature: number, gradScale: number): Promise<MicroStepResult> {
    const clock = () => performance.now() / 1000;
    const t0 = clock();
    if (this.crossStep) {
      const rows = await this.crossStep.fill(this.windows, this.offsets, this.targets, temperature);
      this.timings.teacher += clock() - t0;
      return this.runUnfused({ kind: 'none' }, alpha, temperature, gradScale, rows);
    }
    const teacher: HeadLossTeacher = this.teacherStep
      ? await this.teacherStep.rows(this.inputs, this.offsets, this.B, this.T, temperature, this.fused !== null)
      : { kind: 'none' };
    this.timings.teacher += clock() - t0;
    return this.fused ? this.runFused(this.fused, teacher, alpha, temperature, gradScale) : this.runUnfused(teacher, alpha, temperature, gradScale);
  }

  /** The hidden-state term after the student's forward (timed with the teacher: it runs the teacher's forward). */
  private hiddenTerm(gradScale: number): { loss: number; residual?: ReadonlyMap<number, Float32Array> } {
    if (!this.hidden) return { loss: 0 };
    const t0 = performance.now() / 1000;
    const r = this.hidden.forwardBackward(this.inputs, this.targets, this.lossCfg.ignoreIndex, this.trainActs, gradScale);
    this.timings.teacher += performance.now() / 1000 - t0;
    return r;
  }

  /** run() on the unfused path: full (N,V) logits, then src/distill's α mix; with cross rows, the
   *  CE share there and the cross-tokenizer KD term added (weight 1−α). */
  private runUnfused(teacher: HeadLossTeacher, alpha: number, temperature: number, gradScale: number, cross?: CrossRows): MicroStepResult {
    const { be, student, trainActs: acts, N, V, timings, lossCfg } = this;
    if (teacher.kind === 'hidden') throw new Error('MicroStep: the unfused path got hidden teacher rows');
    const clock = () => performance.now() / 1000;
    let t1 = clock();
    const logits = forward(be, student, acts, this.inputs, this.B, this.T);
    const t0 = clock();
    timings.forward += t0 - t1;
    const r = distillLossForwardBackward(be, this.dLogits, this.rowCe, this.rowKd, logits, teacher, this.targets, N, V, {
      alpha: teacher.kind !== 'none' || cross ? alpha : 1, divergence: lossCfg.divergence, temperature, scaleT2: lossCfg.scaleT2, ignoreIndex: lossCfg.ignoreIndex, gradScale,
    }, this.lossScratch);
    const h = this.hiddenTerm(gradScale);
    const out: MicroStepResult = { loss: r.loss + h.loss, ce: r.ce, kd: r.kd, hidden: h.loss };
    if (cross) {
      out.kd = crossTokenizerKdForwardBackward(be, this.dLogits, this.rowKd, logits, cross, this.targets, N, V, {
        divergence: lossCfg.divergence, temperature, scaleT2: lossCfg.scaleT2, ignoreIndex: lossCfg.ignoreIndex,
        tailMode: lossCfg.teacher.tail, uldWeight: this.crossStep!.setup.uldWeight, gradScale: (1 - alpha) * gradScale,
      }, this.crossScratch!);
      out.loss += (1 - alpha) * out.kd;
    }
    t1 = clock();
    timings.loss += t1 - t0;
    backward(be, student, acts, this.dLogits, h.residual);
    timings.backward += clock() - t1;
    return out;
  }

  /** run() on the fused path: same contract, same values up to f32 rounding. */
  private runFused(divergence: HeadLossDivergence, teacher: HeadLossTeacher, alpha: number, temperature: number, gradScale: number): MicroStepResult {
    const { be, student, trainActs: acts, N, V, timings, lossCfg } = this;
    const C = student.config.dim;
    const clock = () => performance.now() / 1000;
    let t1 = clock();
    const hf = forwardToHidden(be, student, acts, this.inputs, this.B, this.T);
    const t0 = clock();
    timings.forward += t0 - t1;
    const headName = headParamName(student.config);
    const dHidden = acts.dh.subarray(0, N * C);
    const r = be.headLossForwardBackward({
      dHidden, dWeight: grad(student, headName), rowCe: this.rowCe, rowKd: this.rowKd, hidden: hf, weight: param(student, headName),
      teacher, targets: this.targets, N, V, C, alpha: teacher.kind !== 'none' ? alpha : 1, divergence, temperature, scaleT2: lossCfg.scaleT2,
      ignoreIndex: lossCfg.ignoreIndex, gradScale,
    });
    const h = this.hiddenTerm(gradScale);
    t1 = clock();
    timings.loss += t1 - t0;
    backwardFromHidden(be, student, acts, dHidden, h.residual);
    timings.backward += clock() - t1;
    return { loss: r.loss + h.loss, ce: r.ce, kd: r.kd, hidden: h.loss };
  }
}
