// AdamW over a model's one parameter buffer: moments m, v in one Float32Array each (same
// offsets as the params), weight decay only on the layout entries marked `decay` (matrices and
// embeddings; not norms or biases, as nanoGPT and torchtune do). The math is backend.adamwStep.
import type { Backend } from '../engine/backend.js';
import type { ParamLayout } from '../model/index.js';

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** Contiguous runs of the layout that share a decay flag: one kernel call each. */
interface Group { offset: number; size: number; decay: boolean }

export class AdamW {
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** Optimizer steps taken (bias correction uses step+1 on the next call). */
  step = 0;
  private readonly groups: Group[];

  constructor(layout: ParamLayout, readonly settings: AdamWSettings) {
    this.m = new Float32Array(layout.total);
    this.v = new Float32Array(layout.total);
    const sorted = [...layout.entries].sort((a, b) => a.offset - b.offset);
    this.groups = [];
    for (const e of sorted) {
      const last = this.groups[this.groups.length - 1];
      if (last && last.decay === e.decay && last.offset + last.size === e.offset) last.size += e.size;
      else this.groups.push({ offset: e.offset, size: e.size, decay: e.decay });
    }
  }

  /** One update of params in place from grads at learning rate lr. */
  stepInPlace(be: Backend, params: Float32Array, grads: Float32Array, lr: number): void {
    this.step++;
    const s = this.settings;
    for (const g of this.groups) {
      const end = g.offset + g.size;
      be.adamwStep(params.subarray(g.offset, end), grads.subarray(g.offset, end),
        this.m.subarray(g.offset, end), this.v.subarray(g.offset, end), g.size,
        lr, s.beta1, s.beta2, s.eps, g.decay ? s.weightDecay : 0, this.step);
    }
  }
}
