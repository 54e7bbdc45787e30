// Hidden-state distillation loss between a student state (N,Cs) and a teacher state (N,Ct), through
// a learned projection P (Ct,Cs) when the widths differ (TinyBERT's W_h; none when equal, as in
// DistilBERT): cosine — mean over rows of 1 − cos(s·Pᵀ, t) (DistilBERT's cosine embedding loss) —
// or MSE — mean over rows and channels of (s·Pᵀ − t)². Rows whose target is ignoreIndex are left
// out; with none left the loss is 0 and nothing is written. The projection and its gradients are
// engine GEMMs, the row normalisation of the cosine is the engine's rmsnorm (x·√C/‖x‖ with
// weight 1) forward and backward; only the O(N·C) row sums run here.
// Checked against torch.nn.functional.cosine_similarity / mse_loss (scripts/gen-hidden-loss-fixtures.py).
// It does not own the projection's parameters or optimizer (train/hidden-distill.ts does).
import type { Backend } from '../engine/backend.js';
import { DistillError } from './errors.js';

export type HiddenLossKind = 'cosine' | 'mse';

/** Scratch for rows up to N and teacher width Ct (createHiddenLossScratch). */
export interface HiddenLossScratch { proj: Float32Array; dProj: Float32Array; sn: Float32Array; tn: Float32Array; rstdS: Float32Array; rstdT: Float32Array; ones: Float32Array; dOnes: Float32Array }

export function createHiddenLossScratch(N: number, Ct: number): HiddenLossScratch {
  return {
    proj: new Float32Array(N * Ct), dProj: new Float32Array(N * Ct), sn: new Float32Array(N * Ct), tn: new Float32Array(N * Ct),
    rstdS: new Float32Array(N), rstdT: new Float32Array(N), ones: new Float32Array(Ct).fill(1), dOnes: new Float32Array(Ct),
  };
}

export interface HiddenLossArgs {
  kind: HiddenLossKind;
  /** Student state (N,Cs) and its gradient (N,Cs), ACCUMULATED (+=), or null for the forward only. */
  student: Float32Array; dStudent: Float32Array | null;
  /** Teacher state (N,Ct). */
  teacher: Float32Array;
  /** Projection (Ct,Cs) and its gradient (ACCUMULATED), or null when Cs == Ct (identity). */
  weight: Float32Array | null; dWeight: Float32Array | null;
  /** (N) i32 or null: rows equal to ignoreIndex are left out. */
  targets: Int32Array | null; ignoreIndex: number;
  N: number; Cs: number; Ct: number;
  /** Multiplies the gradients (not the returned loss). */
  gradScale: number;
}

/** Keeps the normalisation finite on an all-zero row (added to mean(x²), as rmsnorm's eps). */
const COS_EPS = 1e-12;

/** The loss (mean over unmasked rows) and their count; gradients as HiddenLossArgs says. */
export function hiddenLossForwardBackward(be: Backend, a: HiddenLossArgs, s: HiddenLossScratch): { loss: number; count: number } {
  const { N, Cs, Ct } = a;
  if (a.student.length < N * Cs || a.teacher.length < N * Ct) throw new DistillError(`hidden loss: student needs ${N}×${Cs} and teacher ${N}×${Ct} values, got ${a.student.length} and ${a.teacher.length}`);
  if (!a.weight && Cs !== Ct) throw new DistillError(`hidden loss: student width ${Cs} differs from the teacher's ${Ct}; a projection (Ct,Cs) is needed`);
  if (a.weight && a.weight.length !== Ct * Cs) throw new DistillError(`hidden loss: projection has ${a.weight.length} values, expected ${Ct}×${Cs}`);
  if (s.proj.length < N * Ct) throw new DistillError(`hidden loss: scratch holds ${s.proj.length / Ct} rows, need ${N}`);
  const x = a.student.subarray(0, N * Cs), t = a.teacher.subarray(0, N * Ct);
  let sp = x;
  if (a.weight) { sp = s.proj.subarray(0, N * Ct); be.gemm(sp, x, a.weight, N, Ct, Cs, false, true, 1, 0); }
  const kept = (i: number) => a.targets === null || a.targets[i] !== a.ignoreIndex;
  let count = 0;
  for (let i = 0; i < N; i++) if (kept(i)) count++;
  if (count === 0) return { loss: 0, count };
  let ds = s.dProj.subarray(0, N * Ct);
  let sum = 0;
  if (a.kind === 'cosine') {
    const sn = s.sn.subarray(0, N * Ct), tn = s.tn.subarray(0, N * Ct);
    be.rmsnormForward(sn, s.rstdS, sp, s.ones, N, Ct, COS_EPS);
    be.rmsnormForward(tn, s.rstdT, t, s.ones, N, Ct, COS_EPS);
    const g = -a.gradScale / (count * Ct); // d(1 − Σ ŝ·t̂ / Ct)/dŝ, per row, over the count
    for (let i = 0; i < N; i++) {
      const o = i * Ct;
      if (!kept(i)) { ds.fill(0, o, o + Ct); continue; }
      let dot = 0;
      for (let c = 0; c < Ct; c++) { dot += sn[o + c] * tn[o + c]; ds[o + c] = g * tn[o + c]; }
      sum += 1 - dot / Ct;
    }
    if (a.dStudent) { be.rmsnormBackward(sn, s.dOnes, ds, sp, s.ones, s.rstdS, N, Ct); ds = sn; } // dOnes: a sink
  } else {
    const g = 2 * a.gradScale / (count * Ct);
    for (let i = 0; i < N; i++) {
      const o = i * Ct;
      if (!kept(i)) { ds.fill(0, o, o + Ct); continue; }
      let row = 0;
      for (let c = 0; c < Ct; c++) { const d = sp[o + c] - t[o + c]; row += d * d; ds[o + c] = g * d; }
      sum += row / Ct;
    }
  }
  if (a.dStudent) {
    if (a.weight) {
      be.gemm(a.dStudent, ds, a.weight, N, Cs, Ct, false, false, 1, 1); // dX += dS·P
      if (a.dWeight) be.gemm(a.dWeight, ds, x, Ct, Cs, N, true, false, 1, 1); // dP += dSᵀ·X
    } else {
      for (let i = 0; i < N * Cs; i++) a.dStudent[i] += ds[i];
    }
  }
  return { loss: sum / count, count };
}
