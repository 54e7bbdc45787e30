// The hidden-state term of a training step (recipe loss.hidden): runs the teacher's forward to
// get its residual states, compares chosen student/teacher state pairs with
// src/distill's hiddenLossForwardBackward, and hands backward the gradients to add at each
// student state. Owns the learned projections (one (Ct,Cs) matrix per pair when the widths
// differ) with their own AdamW, stepped with the student's. It does not touch the CE/KD loss.
import type { Backend } from '../engine/backend.js';
import { Rng } from '../engine/rng.js';
import { createHiddenLossScratch, hiddenLossForwardBackward, type HiddenLossScratch } from '../distill/index.js';
import { type Activations, type Model, type ParamLayout, createActivations, forwardToHidden } from '../model/index.js';
import type { Recipe } from '../recipe/schema.js';
import { RecipeError } from '../recipe/load.js';
import { AdamW, type AdamWSettings } from './optimizer.js';

type HiddenSpec = NonNullable<Recipe['loss']['hidden']>;

interface Pair { s: number; t: number; proj: string | null }

export class HiddenDistill {
  /** The projections' parameters, gradients and optimizer (empty when every pair has equal widths). */
  readonly layout: ParamLayout;
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly opt: AdamW;
  private readonly pairs: Pair[];
  private readonly teacherActs: Activations;
  /** Gradient to add at student state x[s] (N,Cs), by s. */
  private readonly residual = new Map<number, Float32Array>();
  private readonly scratch: HiddenLossScratch;

  constructor(private readonly be: Backend, private readonly student: Model, private readonly teacher: Model,
    private readonly spec: HiddenSpec, readonly B: number, readonly T: number, settings: AdamWSettings, seed: number, source: string) {
    const Ls = student.config.nLayers, Lt = teacher.config.nLayers, Cs = student.config.dim, Ct = teacher.config.dim;
    const raw = spec.pairs ?? [[Ls, Lt]];
    for (const [s, t] of raw) {
      if (s > Ls) throw new RecipeError(`${source}: key 'loss.hidden.pairs': student state ${s} does not exist; the student has states 0..${Ls} (0 = embeddings, ${Ls} = its last block)`);
      if (t > Lt) throw new RecipeError(`${source}: key 'loss.hidden.pairs': teacher state ${t} does not exist; the teacher has states 0..${Lt} (0 = embeddings, ${Lt} = its last block)`);
    }
    const entries = Cs === Ct ? [] : raw.map((_, i) => ({ name: `proj.${i}`, shape: [Ct, Cs], offset: i * Ct * Cs, size: Ct * Cs, layer: -1, decay: true }));
    this.layout = { entries, byName: new Map(entries.map((e) => [e.name, e])), total: entries.length * Ct * Cs };
    this.pairs = raw.map(([s, t], i) => ({ s, t, proj: entries.length ? `proj.${i}` : null }));
    this.params = new Float32Array(this.layout.total);
    const rng = new Rng(seed + 17); // its own stream: the student's init draws stay as without the loss
    for (let i = 0; i < this.params.length; i++) this.params[i] = rng.nextNormal() / Math.sqrt(Cs);
    this.grads = new Float32Array(this.layout.total);
    this.opt = new AdamW(this.layout, settings);
    this.teacherActs = createActivations(teacher.config, B, T, { headLogits: false }); // training mode: every x[l] kept
    for (const { s } of this.pairs) if (!this.residual.has(s)) this.residual.set(s, new Float32Array(B * T * Cs));
    this.scratch = createHiddenLossScratch(B * T, Ct);
  }

  private view(buf: Float32Array, name: string | null): Float32Array | null {
    const e = name === null ? undefined : this.layout.byName.get(name);
    return e ? buf.subarray(e.offset, e.offset + e.size) : null;
  }

  /**
   * After the student's training forward on `acts` over inputs (B*T): the teacher's forward, then
   * weight × the mean over pairs of the distance. Returns that weighted loss and the residual
   * gradients (of gradScale × it) for backwardFromHidden; projection gradients ACCUMULATE.
   */
  forwardBackward(inputs: Int32Array, targets: Int32Array, ignoreIndex: number, acts: Activations, gradScale: number): { loss: number; residual: ReadonlyMap<number, Float32Array> } {
    const { B, T } = this, N = B * T, Cs = this.student.config.dim, Ct = this.teacher.config.dim;
    forwardToHidden(this.be, this.teacher, this.teacherActs, inputs, B, T);
    for (const g of this.residual.values()) g.fill(0);
    const w = this.spec.weight / this.pairs.length;
    let loss = 0;
    for (const p of this.pairs) {
      const r = hiddenLossForwardBackward(this.be, {
        kind: this.spec.kind, student: acts.x[p.s], dStudent: this.residual.get(p.s)!, teacher: this.teacherActs.x[p.t],
        weight: this.view(this.params, p.proj), dWeight: this.view(this.grads, p.proj), targets, ignoreIndex, N, Cs, Ct, gradScale: gradScale * w,
      }, this.scratch);
      loss += w * r.loss;
    }
    return { loss, residual: this.residual };
  }

  zeroGradsInPlace(): void { this.grads.fill(0); }

  /** One AdamW update of the projections (a no-op without any). */
  stepInPlace(lr: number): void {
    if (this.layout.total) this.opt.stepInPlace(this.be, this.params, this.grads, lr);
  }
}
