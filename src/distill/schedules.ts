// Schedules for the α mix weight and the KD temperature as small pure functions of the step:
// constant, linear, and warmup-stable-decay. No state, no optimizer learning-rate logic here.

import { DistillError } from './errors.js';

export type Schedule =
  | { kind: 'constant'; value: number }
  /** start at step 0, end at step `steps` and after; linear in between. */
  | { kind: 'linear'; start: number; end: number; steps: number }
  /** initial -> peak linearly over warmupSteps, peak for stableSteps, then linearly to final over
   *  decaySteps, final afterwards (the WSD shape of MiniCPM, Hu et al. 2024). */
  | { kind: 'wsd'; initial: number; peak: number; final: number; warmupSteps: number; stableSteps: number; decaySteps: number };

function lerp(a: number, b: number, t: number): number { return a + (b - a) * t; }

/** The schedule's value at `step` (a non-negative integer or fraction; step 0 is the first). */
export function scheduleValue(s: Schedule, step: number): number {
  if (!(step >= 0) || !Number.isFinite(step)) throw new DistillError(`scheduleValue: step must be a finite number >= 0, got ${step}`);
  switch (s.kind) {
    case 'constant': return s.value;
    case 'linear':
      if (!(s.steps >= 0)) throw new DistillError(`scheduleValue: linear schedule 'steps' must be >= 0, got ${s.steps}`);
      return s.steps === 0 || step >= s.steps ? s.end : lerp(s.start, s.end, step / s.steps);
    case 'wsd': {
      for (const key of ['warmupSteps', 'stableSteps', 'decaySteps'] as const) {
        if (!(s[key] >= 0)) throw new DistillError(`scheduleValue: wsd schedule '${key}' must be >= 0, got ${s[key]}`);
      }
      if (step < s.warmupSteps) return lerp(s.initial, s.peak, step / s.warmupSteps);
      const t = step - s.warmupSteps;
      if (t < s.stableSteps) return s.peak;
      const d = t - s.stableSteps;
      return d >= s.decaySteps ? s.final : lerp(s.peak, s.final, d / s.decaySteps);
    }
    default: {
      const never: never = s;
      throw new DistillError(`scheduleValue: unknown schedule kind '${(never as { kind: string }).kind}'`);
    }
  }
}
