// Learning-rate schedules of the training loop: linear warmup, then constant, cosine to a floor,
// or warmup-stable-decay. Pure functions of the step; the optimizer only reads the number.
import type { Recipe } from '../recipe/schema.js';

export type LrScheduleSpec = Recipe['train']['schedule'];

/**
 * Learning rate for optimizer step `step` (0-based) of `total`. Warmup ramps linearly from
 * peak/warmup at step 0 to peak at step warmup-1 (nanoGPT's convention, never exactly 0).
 * cosine: after warmup, peak → peak*minRatio following half a cosine, reaching the floor at the
 * last step. wsd: peak held until the last decayFraction of steps, then linear to peak*minRatio.
 */
export function learningRate(spec: LrScheduleSpec, peak: number, step: number, total: number): number {
  const warmup = spec.warmup;
  if (step < warmup) return (peak * (step + 1)) / warmup;
  switch (spec.kind) {
    case 'constant':
      return peak;
    case 'cosine': {
      const span = Math.max(1, total - 1 - warmup);
      const progress = Math.min(1, (step - warmup) / span);
      const floor = peak * spec.minRatio;
      return floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * progress));
    }
    case 'wsd': {
      const decaySteps = Math.max(1, Math.round(total * spec.decayFraction));
      const decayStart = total - decaySteps;
      if (step < decayStart) return peak;
      const progress = Math.min(1, (step - decayStart + 1) / decaySteps);
      const floor = peak * spec.minRatio;
      return peak - (peak - floor) * progress;
    }
  }
}
