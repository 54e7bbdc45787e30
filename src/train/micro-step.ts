// One training micro-batch, the compute shared by the loop and the step benchmarks: teacher rows,
// student forward, α·CE + (1−α)·KD and its gradient, backward into the student's (accumulating)
// grads. Buffers are sized once. It does not draw batches, clip, step the optimizer or log.
import type { Backend } from '../engine/backend.js';
import { distillLossForwardBackward, hardCeForwardBackward, type KdDivergence } from '../distill/index.js';
import { backward, createActivations, forward, type Activations, type Model } from '../model/index.js';
import type { Recipe } from '../recipe/schema.js';
import type { Teacher } from '../teacher/teacher.js';
import { TeacherStep } from './teacher-step.js';

/** The loss settings a micro-step needs (the recipe's `loss` block, minus schedules). */
export interface MicroStepLoss {
  divergence: KdDivergence;
  scaleT2: boolean;
  ignoreIndex: number;
  teacher: Recipe['loss']['teacher'];
}

/** Seconds per op group, summed over calls (the loop adds optimizer and eval). */
export interface MicroStepTimings { teacher: number; forward: number; loss: number; backward: number }

export interface MicroStepResult { loss: number; ce: number; kd: number }

export class MicroStep {
  readonly inputs: Int32Array;
  readonly targets: Int32Array;
  /** Stream position of each row's first token (B): stores of teacher rows are indexed by it. */
  readonly offsets: Int32Array;
  readonly acts: Activations;
  readonly timings: MicroStepTimings = { teacher: 0, forward: 0, loss: 0, backward: 0 };
  private readonly dLogits: Float32Array;
  private readonly rowCe: Float32Array;
  private readonly rowKd: Float32Array;
  private readonly teacherStep: TeacherStep | null;
  private readonly N: number;
  private readonly V: number;

  /** teacher null: hard labels only (the loss never needs it). */
  constructor(
    private readonly be: Backend, private readonly student: Model, teacher: Teacher | null,
    private readonly lossCfg: MicroStepLoss, readonly B: number, readonly T: number,
  ) {
    this.N = B * T;
    this.V = student.config.vocabSize;
    this.acts = createActivations(student.config, B, T);
    this.dLogits = new Float32Array(this.N * this.V);
    this.rowCe = new Float32Array(this.N);
    this.rowKd = new Float32Array(this.N);
    this.inputs = new Int32Array(this.N);
    this.targets = new Int32Array(this.N);
    this.offsets = new Int32Array(B);
    this.teacherStep = teacher ? new TeacherStep(teacher, lossCfg.teacher, this.N, this.V) : null;
  }

  /** Splits B windows of T+1 ids (row-major) into inputs and next-token targets; offsets (B)
   *  are the windows' stream positions (0s when the source has none, e.g. benchmarks). */
  setWindows(windows: Int32Array, offsets?: Int32Array): void {
    const { B, T } = this;
    if (offsets) this.offsets.set(offsets.subarray(0, B)); else this.offsets.fill(0);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        this.inputs[b * T + t] = windows[b * (T + 1) + t];
        this.targets[b * T + t] = windows[b * (T + 1) + t + 1];
      }
    }
  }

  /**
   * Forward and backward of the micro-batch set by setWindows. Gradients of
   * gradScale · (α·CE + (1−α)·KD) are ACCUMULATED into student.grads. With no teacher, α is 1.
   */
  run(alpha: number, temperature: number, gradScale: number): MicroStepResult {
    const { be, student, acts, N, V, timings, lossCfg } = this;
    const clock = () => performance.now() / 1000;
    let t0 = clock();
    const rows = this.teacherStep ? this.teacherStep.rows(this.inputs, this.offsets, this.B, this.T, temperature) : null;
    let t1 = clock();
    timings.teacher += t1 - t0;
    const logits = forward(be, student, acts, this.inputs, this.B, this.T);
    t0 = clock();
    timings.forward += t0 - t1;
    let out: MicroStepResult;
    if (rows) {
      const r = distillLossForwardBackward(this.dLogits, this.rowCe, this.rowKd, logits, rows, this.targets, N, V, {
        alpha, divergence: lossCfg.divergence, temperature, scaleT2: lossCfg.scaleT2, ignoreIndex: lossCfg.ignoreIndex,
      });
      out = { loss: r.loss, ce: r.ce, kd: r.kd };
    } else {
      const r = hardCeForwardBackward(this.dLogits, this.rowCe, logits, this.targets, N, V, { ignoreIndex: lossCfg.ignoreIndex });
      out = { loss: r.loss, ce: r.loss, kd: 0 };
    }
    if (gradScale !== 1) {
      const d = this.dLogits;
      for (let i = 0; i < d.length; i++) d[i] *= gradScale;
    }
    t1 = clock();
    timings.loss += t1 - t0;
    backward(be, student, acts, this.dLogits);
    timings.backward += clock() - t1;
    return out;
  }
}
