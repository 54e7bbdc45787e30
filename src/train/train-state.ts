// Atomic training checkpoints and resume: checkpoints/step-NNNNNN/ holds the student
// (model.safetensors, a distill checkpoint), the AdamW moments (optimizer.safetensors) and
// state.json (step, data draws). Written to a .tmp folder and renamed, so a crash never leaves
// a half checkpoint; older ones are removed only after the new one is in place.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { loadDistillCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import type { Model } from '../model/index.js';
import type { AdamW } from './optimizer.js';

export interface TrainState {
  /** Optimizer steps completed. */
  step: number;
  /** Micro-batches drawn from the training batcher (to fast-forward the data order). */
  draws: number;
  /** Cumulative training tokens. */
  tokens: number;
}

export class TrainStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainStateError';
  }
}

const stepDir = (runDir: string, step: number) => join(runDir, 'checkpoints', `step-${String(step).padStart(6, '0')}`);

/** Writes a checkpoint atomically and keeps only the newest `keep`. Returns its folder. */
export function saveTrainState(runDir: string, model: Model, opt: AdamW, state: TrainState, keep = 1): string {
  const final = stepDir(runDir, state.step);
  const tmp = `${final}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  saveCheckpoint(join(tmp, 'model.safetensors'), model.config, model.params, { step: String(state.step) });
  writeSafetensors(join(tmp, 'optimizer.safetensors'), [
    { name: 'm', shape: [opt.m.length], data: opt.m },
    { name: 'v', shape: [opt.v.length], data: opt.v },
  ], { optimizer: 'adamw', step: String(opt.step) });
  writeFileSync(join(tmp, 'state.json'), JSON.stringify(state, null, 1) + '\n');
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  const all = listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) rmSync(stepDir(runDir, old), { recursive: true, force: true });
  return final;
}

/** The files of one training checkpoint. */
const CHECKPOINT_FILES = ['model.safetensors', 'optimizer.safetensors', 'state.json'];

/** Steps of the complete checkpoints in a run folder, ascending (.tmp leftovers ignored). */
export function listCheckpoints(runDir: string): number[] {
  const dir = join(runDir, 'checkpoints');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => /^step-(\d{6})$/.exec(n))
    // complete: every file there (a half-deleted older one, state.json alone, is not)
    .filter((m): m is RegExpExecArray => m !== null && CHECKPOINT_FILES.every((f) => existsSync(join(dir, m[0], f))))
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Restores the newest checkpoint into model and optimizer; returns its state, or null if none. */
export function loadLatestTrainState(runDir: string, model: Model, opt: AdamW): TrainState | null {
  const steps = listCheckpoints(runDir);
  if (steps.length === 0) return null;
  const dir = stepDir(runDir, steps[steps.length - 1]);
  const ck = loadDistillCheckpoint(join(dir, 'model.safetensors'));
  if (ck.params.length !== model.params.length || JSON.stringify(ck.config) !== JSON.stringify(model.config)) {
    throw new TrainStateError(`${dir}: checkpoint holds a different student (config ${JSON.stringify(ck.config)}); the recipe builds ${JSON.stringify(model.config)}`);
  }
  model.params.set(ck.params);
  const o = readSafetensors(join(dir, 'optimizer.safetensors'));
  const m = o.entries.has("m") ? { data: o.readF32("m") } : undefined, v = o.entries.has("v") ? { data: o.readF32("v") } : undefined;
  if (!m || !v || m.data.length !== opt.m.length || v.data.length !== opt.v.length) {
    throw new TrainStateError(`${dir}/optimizer.safetensors: expected tensors 'm' and 'v' of ${opt.m.length} values`);
  }
  opt.m.set(m.data);
  opt.v.set(v.data);
  opt.step = Number(o.metadata.step);
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as TrainState;
  if (!Number.isInteger(state.step) || !Number.isInteger(state.draws)) throw new TrainStateError(`${dir}/state.json: expected integer 'step' and 'draws'`);
  return state;
}
