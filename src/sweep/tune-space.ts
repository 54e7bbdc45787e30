// The search space of `distill tune`: which recipe keys vary and over what (a range, linear or log,
// or a list of choices), short names for the usual ones (T, alpha, alphaSchedule, lr), random
// sampling of a configuration, and a configuration turned into recipe overrides for a trial of a
// given length (α schedules need it). It runs no trials.
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Rng } from '../engine/rng.js';
import { SweepError } from './errors.js';

const Dim = z.union([
  z.strictObject({ min: z.number(), max: z.number(), log: z.boolean().default(false) }), // linear unless asked: α lives in [0, 1]
  z.strictObject({ choices: z.array(z.union([z.number(), z.string(), z.boolean()])).min(1) }),
]);
export type Dim = z.infer<typeof Dim>;
export const Space = z.record(z.string(), Dim);
export type Space = z.infer<typeof Space>;

/** The α schedules tune can choose between (our α = the weight of hard-label CE):
 *  constant: α throughout; linear: α at the start to 1 at the end (the KD weight decays to 0);
 *  wsd: 1 → α over the first 10 % of steps, α for the next 70 %, back to 1 over the last 20 %
 *  (the KD weight follows the warmup-stable-decay shape the PD study (arXiv 2410.16215) uses). */
export const ALPHA_SCHEDULES = ['constant', 'linear', 'wsd'] as const;

/** Short names and what they stand for. alphaSchedule is not a recipe key: it shapes loss.alpha. */
export const SHORT_NAMES: Record<string, string> = { T: 'loss.temperature', alpha: 'loss.alpha', lr: 'train.lr', alphaSchedule: 'alphaSchedule' };

/** The space used for a parameter when the space file does not name it. */
export const DEFAULT_SPACE: Space = {
  'loss.temperature': { min: 0.5, max: 8, log: true }, // Hinton et al.'s usual 1-8, and a little sharper
  'loss.alpha': { min: 0, max: 1, log: false }, // all of it: pure KD to pure CE
  alphaSchedule: { choices: [...ALPHA_SCHEDULES] },
  'train.lr': { min: 1e-3, max: 2e-2, log: true }, // around the 5e-3 the reference runs use
};

/** The recipe key a --params name stands for. */
export function paramKey(name: string): string {
  return SHORT_NAMES[name] ?? name;
}

/** Reads a space file (key or short name -> {min, max, log} or {choices}); keys become recipe keys. */
export function loadSpace(path: string): Space {
  if (!existsSync(path)) throw new SweepError(`--space: file not found: ${path}`);
  const r = Space.safeParse(parse(readFileSync(path, 'utf8')));
  if (!r.success) throw new SweepError(`${path}: invalid space: ${r.error.issues.map((i) => `key '${i.path.map(String).join('.')}': ${i.message}`).join('; ')}`);
  return Object.fromEntries(Object.entries(r.data).map(([k, v]) => [paramKey(k), v]));
}

/** The space over the named parameters: each from the file's space, else the default. */
export function spaceFor(params: string[], fileSpace: Space = {}): Space {
  const out: Space = {};
  for (const p of params) {
    const key = paramKey(p);
    const dim = fileSpace[key] ?? DEFAULT_SPACE[key];
    if (!dim) throw new SweepError(`--params: no search space for '${p}'; give one in --space FILE (${key}: {min: .., max: .., log: true|false} or {choices: [..]})`);
    if ('min' in dim && !(dim.max > dim.min && (!dim.log || dim.min > 0))) throw new SweepError(`space of '${key}': need max > min${dim.log ? ' > 0 (log scale)' : ''}, got min ${dim.min}, max ${dim.max}`);
    if (key === 'alphaSchedule' && 'choices' in dim) {
      const bad = dim.choices.find((c) => !(ALPHA_SCHEDULES as readonly unknown[]).includes(c));
      if (bad !== undefined) throw new SweepError(`space of 'alphaSchedule': '${String(bad)}' is not one of ${ALPHA_SCHEDULES.join(', ')}`);
    }
    out[key] = dim;
  }
  for (const key of Object.keys(fileSpace)) if (!(key in out)) throw new SweepError(`--space names '${key}', which --params does not list`);
  return out;
}

export type Config = Record<string, number | string | boolean>;

/** One random configuration: uniform (or log-uniform) in each range, uniform over choices. */
export function sampleConfig(space: Space, rng: Rng): Config {
  const c: Config = {};
  for (const [k, d] of Object.entries(space)) {
    if ('choices' in d) c[k] = d.choices[rng.nextInt(d.choices.length)];
    else {
      const u = rng.nextFloat();
      const v = d.log ? Math.exp(Math.log(d.min) + u * (Math.log(d.max) - Math.log(d.min))) : d.min + u * (d.max - d.min);
      c[k] = Number(v.toPrecision(4)); // 4 digits: recipe files and trial names stay readable
    }
  }
  return c;
}

/** The loss.alpha value (a schedule object or a number) for CE weight `a` over `steps` steps. */
export function alphaScheduleValue(kind: string, a: number, steps: number): unknown {
  if (kind === 'linear') return { kind: 'linear', start: a, end: 1 };
  if (kind === 'wsd') {
    const warmupSteps = Math.round(steps * 0.1), decaySteps = Math.round(steps * 0.2);
    return { kind: 'wsd', initial: 1, peak: a, final: 1, warmupSteps, stableSteps: steps - warmupSteps - decaySteps, decaySteps };
  }
  return a;
}

/** The recipe overrides of a configuration for a trial of `steps` steps; `baseAlpha` is the
 *  recipe's α, used by alphaSchedule when α itself is not tuned. */
export function configOverrides(c: Config, steps: number, baseAlpha: number): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(c)) if (k !== 'alphaSchedule' && k !== 'loss.alpha') out.push([k, v]);
  const a = typeof c['loss.alpha'] === 'number' ? c['loss.alpha'] : baseAlpha;
  if (c.alphaSchedule !== undefined) out.push(['loss.alpha', alphaScheduleValue(String(c.alphaSchedule), a, steps)]);
  else if (c['loss.alpha'] !== undefined) out.push(['loss.alpha', a]);
  out.push(['train.steps', steps]);
  return out;
}
