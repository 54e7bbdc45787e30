// Atomic training checkpoints and resume: checkpoints/step-NNNNNN/ holds the student
// (model.safetensors, a distill checkpoint), the AdamW moments (optimizer.safetensors) and
// state.json (step, data draws). Written to a .tmp folder and renamed, so a crash never leaves
// a half checkpoint; older ones are removed only after the new one is in place.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '../io/crc32c.js';
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

/** State trained beside the student (the hidden loss's projections), saved as one more file of
 *  each checkpoint: its tensors are written from and restored into these arrays. */
export interface ExtraTrainState { file: string; tensors: Record<string, Float32Array> }

export class TrainStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainStateError';
  }
}

const stepDir = (runDir: string, step: number) => join(runDir, 'checkpoints', `step-${String(step).padStart(6, '0')}`);

/** CRC-32C of the AdamW moments (m then v), as 8 hex digits. */
function momentsChecksum(m: Float32Array, v: Float32Array): string {
  const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return (crc32c(Buffer.concat([bytes(m), bytes(v)])) >>> 0).toString(16).padStart(8, '0');
}

/** Test hook (test/kill-anywhere.test.ts): called at every stage of a save; a throw there is a
 *  process killed at that point. Null in normal runs. */
export const saveStages: { hook: ((stage: string) => void) | null } = { hook: null };
const stage = (name: string): void => saveStages.hook?.(name);

/** Writes a checkpoint atomically and keeps only the newest `keep` (2 by default: the previous good
 *  one survives until the new one is complete and verified on the next resume). Returns its folder. */
export function saveTrainState(runDir: string, model: Model, opt: AdamW, state: TrainState, keep = 2, extra?: ExtraTrainState): string {
  const final = stepDir(runDir, state.step);
  const tmp = `${final}.tmp`;
  stage('begin');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  saveCheckpoint(join(tmp, 'model.safetensors'), model.config, model.params, { step: String(state.step) });
  stage('model written');
  writeSafetensors(join(tmp, 'optimizer.safetensors'), [
    { name: 'm', shape: [opt.m.length], data: opt.m },
    { name: 'v', shape: [opt.v.length], data: opt.v },
  ], { optimizer: 'adamw', step: String(opt.step), crc32c: momentsChecksum(opt.m, opt.v) });
  stage('optimizer written');
  if (extra) writeSafetensors(join(tmp, extra.file), Object.entries(extra.tensors).map(([name, data]) => ({ name, shape: [data.length], data })), {});
  writeFileSync(join(tmp, 'state.json'), JSON.stringify(state, null, 1) + '\n');
  stage('state written');
  rmSync(final, { recursive: true, force: true });
  stage('old removed');
  renameSync(tmp, final);
  stage('renamed');
  // .tmp folders a killed save left behind are incomplete by construction: cleared once a save completes.
  for (const n of readdirSync(join(runDir, 'checkpoints'))) if (/^step-\d{6}\.tmp$/.test(n)) rmSync(join(runDir, 'checkpoints', n), { recursive: true, force: true });
  const all = listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) {
    // File by file, so that a kill halfway leaves a folder listCheckpoints no longer counts.
    for (const f of CHECKPOINT_FILES) {
      rmSync(join(stepDir(runDir, old), f), { force: true });
      stage(`pruning ${f}`);
    }
    rmSync(stepDir(runDir, old), { recursive: true, force: true });
  }
  stage('done');
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

/** A config as JSON with its keys (and lowRank's) sorted: the same config built in another key order compares equal. */
function canonical(c: Model['config']): string {
  const sorted = (o: object) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
  return JSON.stringify(sorted({ ...c, ...(c.lowRank ? { lowRank: sorted(c.lowRank) } : {}) }));
}

/** Restores one checkpoint folder into model and optimizer; throws a TrainStateError (or the
 *  readers' FormatError) when it is damaged, and a TrainStateError marked `foreign` when it holds
 *  another student. */
function restore(dir: string, model: Model, opt: AdamW, extra?: ExtraTrainState): TrainState {
  const ck = loadDistillCheckpoint(join(dir, 'model.safetensors')); // verifies its CRC-32C
  if (ck.params.length !== model.params.length || canonical(ck.config) !== canonical(model.config)) {
    throw Object.assign(new TrainStateError(`${dir}: checkpoint holds a different student (config ${JSON.stringify(ck.config)}); the recipe builds ${JSON.stringify(model.config)}`), { foreign: true });
  }
  const o = readSafetensors(join(dir, 'optimizer.safetensors'));
  const m = o.entries.has('m') ? o.readF32('m') : undefined, v = o.entries.has('v') ? o.readF32('v') : undefined;
  if (!m || !v || m.length !== opt.m.length || v.length !== opt.v.length) {
    throw new TrainStateError(`${dir}/optimizer.safetensors: expected tensors 'm' and 'v' of ${opt.m.length} values`);
  }
  if (o.metadata.crc32c !== undefined && o.metadata.crc32c !== momentsChecksum(m, v)) {
    throw new TrainStateError(`${dir}/optimizer.safetensors: checksum mismatch (CRC-32C ${momentsChecksum(m, v)}, recorded ${o.metadata.crc32c}); the file is damaged`);
  }
  let state: TrainState;
  try {
    state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as TrainState;
  } catch (e) {
    throw new TrainStateError(`${dir}/state.json: not valid JSON (${(e as Error).message})`);
  }
  if (!Number.isInteger(state.step) || !Number.isInteger(state.draws)) throw new TrainStateError(`${dir}/state.json: expected integer 'step' and 'draws'`);
  const extras: [Float32Array, Float32Array][] = [];
  if (extra) {
    const file = join(dir, extra.file);
    if (!existsSync(file)) throw Object.assign(new TrainStateError(`${dir}: no ${extra.file}; this checkpoint was written by a run without the state it holds (loss.hidden's projections)`), { foreign: true });
    const x = readSafetensors(file);
    for (const [name, dst] of Object.entries(extra.tensors)) {
      const src = x.entries.has(name) ? x.readF32(name) : undefined;
      if (!src || src.length !== dst.length) throw new TrainStateError(`${file}: expected tensor '${name}' of ${dst.length} values`);
      extras.push([dst, src]);
    }
  }
  for (const [dst, src] of extras) dst.set(src);
  model.params.set(ck.params);
  opt.m.set(m);
  opt.v.set(v);
  opt.step = Number(o.metadata.step);
  return state;
}

/**
 * Restores the newest checkpoint that verifies (checksums, files, state) into model and optimizer;
 * a damaged newer one is renamed step-N.damaged (kept for inspection, never resumed from) and
 * named in `notes`. Returns null when there is none. A checkpoint of another student throws.
 */
export function loadLatestTrainState(runDir: string, model: Model, opt: AdamW, extra?: ExtraTrainState): { state: TrainState; notes: string[] } | null {
  const notes: string[] = [];
  const steps = listCheckpoints(runDir);
  for (let i = steps.length - 1; i >= 0; i--) {
    const dir = stepDir(runDir, steps[i]);
    try {
      return { state: restore(dir, model, opt, extra), notes };
    } catch (e) {
      if ((e as { foreign?: boolean }).foreign || !(e instanceof Error) || !['FormatError', 'TrainStateError'].includes(e.name)) throw e;
      renameSync(dir, `${dir}.damaged`);
      notes.push(`checkpoint step ${steps[i]} is damaged (${e.message}); moved to ${dir}.damaged`);
    }
  }
  return null;
}
