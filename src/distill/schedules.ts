// Schedules for the α mix weight and the KD temperature as small pure functions of the step:
// constant, linear, and warmup-stable-decay. No state, no optimizer learning-rate logic here.

import { DistillError } from './errors.js';

/**
 * The schedule kinds and their fields, the one list the recipe schema and the types below are
 * derived from. A field is a `value` (any number), a `count` of steps (integer >= 0), or a
 * `span` of steps (integer >= 1; optional in a recipe, where it defaults to the run's length).
 */
export const SCHEDULES = {
  constant: { value: 'value' },
  /** start at step 0, end at step `steps` and after; linear in between. */
  linear: { start: 'value', end: 'value', steps: 'span' },
  /** initial -> peak linearly over warmupSteps, peak for stableSteps, then linearly to final over
   *  decaySteps, final afterwards (the WSD shape of MiniCPM, Hu et al. 2024). */
  wsd: { initial: 'value', peak: 'value', final: 'value', warmupSteps: 'count', stableSteps: 'count', decaySteps: 'count' },
} as const;

type Kinds = typeof SCHEDULES;
export type ScheduleKind = keyof Kinds;
export type ScheduleField = { [K in ScheduleKind]: Kinds[K][keyof Kinds[K]] }[ScheduleKind];
type SpanKeys<K extends ScheduleKind> = { [F in keyof Kinds[K]]: Kinds[K][F] extends 'span' ? F : never }[keyof Kinds[K]];

/** A schedule as distill evaluates it: every field set. */
export type Schedule = { [K in ScheduleKind]: { kind: K } & { -readonly [F in keyof Kinds[K]]: number } }[ScheduleKind];
/** A schedule as a recipe writes it: a bare number (constant), or a kind whose spans may be left
 *  out (they default to the run's length, see resolveSchedule). */
export type ScheduleSpec = number | { [K in ScheduleKind]: { kind: K } & { -readonly [F in Exclude<keyof Kinds[K], SpanKeys<K>>]: number } & { -readonly [F in SpanKeys<K>]?: number } }[ScheduleKind];

/** The schedule a recipe value stands for over a run of `totalSteps` (a bare number is constant;
 *  a span left out is the whole run). */
export function resolveSchedule(s: ScheduleSpec, totalSteps: number): Schedule {
  if (typeof s === 'number') return { kind: 'constant', value: s };
  const fields = SCHEDULES[s.kind] as Record<string, ScheduleField>;
  const out: Record<string, unknown> = { ...s };
  for (const [f, type] of Object.entries(fields)) if (type === 'span' && out[f] === undefined) out[f] = totalSteps;
  return out as Schedule;
}

/** True when the schedule is 1 at every step (an α that never weights the KD term). */
export function alwaysOne(s: Schedule): boolean {
  switch (s.kind) {
    case 'constant': return s.value === 1;
    case 'linear': return s.start === 1 && s.end === 1;
    case 'wsd': return s.initial === 1 && s.peak === 1 && s.final === 1;
  }
}

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
