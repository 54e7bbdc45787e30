// Reads one run folder into memory for the report: metrics.jsonl, eval.json, samples.jsonl,
// run.json and recipe.resolved.yaml (the contract is in ./README.md). Missing files are allowed
// and leave fields empty; malformed ones throw a ReportError naming the file, line and field.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseJsonScalar } from '../monitor/metrics-log.js';

export class ReportError extends Error {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'ReportError';
    this.file = file;
  }
}

/** One model's evaluation numbers (eval.json "student" / "teacher"). All optional. */
export interface EvalEntry {
  name?: string;
  valLoss?: number;
  ppl?: number;
  klToTeacher?: number;
  top1Agreement?: number;
  params?: number;
  tokensPerSec?: number;
  /** GGUF weight bytes per tensor type ("F32", "Q8_0", ...): what an export of the model weighs. */
  exportBytes?: Record<string, number>;
  /** Recipe eval.extra sets (out-of-domain text) by name: nats/token and bits/byte. */
  extra?: Record<string, { valLoss: number; bitsPerByte?: number }>;
}

export interface RunInfo {
  name?: string;
  seed?: number;
  kind?: 'kd' | 'baseline';
  /** Groups KD runs compared against the baselines (e.g. "kd-alpha0.5"). Default "kd". */
  variant?: string;
  teacher?: string;
}

export interface Sample {
  step: number;
  tag: string;
  text: string;
  prompt?: string;
}

/** profile.json (distill run --profile, engine/profile-backend.ts): time per backend op. */
export interface RunProfile {
  wallSeconds: number;
  ops: { op: string; group: string; seconds: number; calls: number }[];
}

export interface RunData {
  dir: string;
  name: string;
  info: RunInfo;
  /** metric name -> (step, value) sorted by step; a re-logged step keeps its last value. */
  metrics: Map<string, [number, number][]>;
  student?: EvalEntry;
  teacher?: EvalEntry;
  samples: Sample[];
  recipe?: string;
  profile?: RunProfile;
  /** Things the reader of the report should know (missing files, a skipped torn last line). */
  warnings: string[];
}

const EVAL_FIELDS: (keyof EvalEntry)[] = ['valLoss', 'ppl', 'klToTeacher', 'top1Agreement', 'params', 'tokensPerSec'];

/** Parses a JSON-lines file; a malformed last line (a write cut short) becomes a warning. */
function readJsonLines(file: string, warnings: string[]): { line: number; value: Record<string, unknown> }[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  const out: { line: number; value: Record<string, unknown> }[] = [];
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      if (i === lines.length - 1) {
        warnings.push(`${basename(file)}: skipped a malformed last line ${i + 1} (a write cut short?)`);
        return;
      }
      throw new ReportError(file, `line ${i + 1} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ReportError(file, `line ${i + 1} must be a JSON object`);
    out.push({ line: i + 1, value: value as Record<string, unknown> });
  });
  return out;
}

function readMetrics(file: string, warnings: string[]): Map<string, [number, number][]> {
  const byKey = new Map<string, Map<number, number>>();
  for (const { line, value } of readJsonLines(file, warnings)) {
    const step = value.step;
    if (typeof step !== 'number' || !Number.isInteger(step)) throw new ReportError(file, `line ${line}: "step" must be an integer, got ${JSON.stringify(step)}`);
    for (const [k, raw] of Object.entries(value)) {
      if (k === 'step' || k === 'wall_time') continue;
      const v = parseJsonScalar(raw);
      if (v === undefined) throw new ReportError(file, `line ${line}: "${k}" must be a number (or "NaN"/"Infinity"/"-Infinity"), got ${JSON.stringify(raw)}`);
      let m = byKey.get(k);
      if (!m) byKey.set(k, (m = new Map()));
      m.set(step, v);
    }
  }
  const out = new Map<string, [number, number][]>();
  for (const [k, m] of byKey) out.set(k, [...m].sort((a, b) => a[0] - b[0]));
  return out;
}

function readEvalEntry(file: string, where: string, raw: unknown): EvalEntry | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ReportError(file, `"${where}" must be an object`);
  const r = raw as Record<string, unknown>;
  const e: EvalEntry = {};
  if (r.name !== undefined) {
    if (typeof r.name !== 'string') throw new ReportError(file, `"${where}.name" must be a string, got ${JSON.stringify(r.name)}`);
    e.name = r.name;
  }
  if (r.exportBytes !== undefined) {
    const x = r.exportBytes;
    if (typeof x !== 'object' || x === null || Array.isArray(x) || !Object.values(x).every((v) => typeof v === 'number' && v >= 0)) {
      throw new ReportError(file, `"${where}.exportBytes" must map tensor types to byte counts, got ${JSON.stringify(x)}`);
    }
    e.exportBytes = x as Record<string, number>;
  }
  if (r.extra !== undefined) {
    const x = r.extra;
    const ok = (v: unknown) => typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>).valLoss === 'number';
    if (typeof x !== 'object' || x === null || Array.isArray(x) || !Object.values(x).every(ok)) {
      throw new ReportError(file, `"${where}.extra" must map set names to {valLoss, bitsPerByte}, got ${JSON.stringify(x)}`);
    }
    e.extra = x as EvalEntry['extra'];
  }
  for (const f of EVAL_FIELDS) {
    const v = r[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number') throw new ReportError(file, `"${where}.${f}" must be a number, got ${JSON.stringify(v)}`);
    e[f] = v as never;
  }
  return e;
}

function readRunInfo(file: string, raw: unknown): RunInfo {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ReportError(file, 'must be a JSON object');
  const r = raw as Record<string, unknown>;
  const info: RunInfo = {};
  for (const f of ['name', 'variant', 'teacher'] as const) {
    if (r[f] === undefined) continue;
    if (typeof r[f] !== 'string') throw new ReportError(file, `"${f}" must be a string, got ${JSON.stringify(r[f])}`);
    info[f] = r[f] as string;
  }
  if (r.seed !== undefined) {
    if (typeof r.seed !== 'number' || !Number.isInteger(r.seed)) throw new ReportError(file, `"seed" must be an integer, got ${JSON.stringify(r.seed)}`);
    info.seed = r.seed;
  }
  if (r.kind !== undefined) {
    if (r.kind !== 'kd' && r.kind !== 'baseline') throw new ReportError(file, `"kind" must be "kd" or "baseline", got ${JSON.stringify(r.kind)}`);
    info.kind = r.kind;
  }
  return info;
}

function readProfile(file: string, raw: unknown): RunProfile {
  const r = raw as { wallSeconds?: unknown; ops?: unknown };
  if (typeof r !== 'object' || r === null || typeof r.wallSeconds !== 'number' || !Array.isArray(r.ops)) {
    throw new ReportError(file, 'must be a JSON object with "wallSeconds" (number) and "ops" (array), as distill run --profile writes it');
  }
  const ops = r.ops.map((x: unknown, i: number) => {
    const o = x as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.op !== 'string' || typeof o.group !== 'string' || typeof o.seconds !== 'number' || typeof o.calls !== 'number') {
      throw new ReportError(file, `"ops[${i}]" needs "op", "group" (strings), "seconds" and "calls" (numbers)`);
    }
    return { op: o.op, group: o.group, seconds: o.seconds, calls: o.calls };
  });
  return { wallSeconds: r.wallSeconds, ops };
}

function parseJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ReportError(file, `not valid JSON: ${(e as Error).message}`);
  }
}

/** Loads everything the report shows about the run in `dir`. */
export function loadRun(dir: string): RunData {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new ReportError(abs, 'run folder not found (pass the folder that holds metrics.jsonl)');
  const warnings: string[] = [];
  const p = (f: string): string => join(abs, f);

  let info: RunInfo = {};
  if (existsSync(p('run.json'))) {
    info = readRunInfo(p('run.json'), parseJsonFile(p('run.json')));
  }
  const metrics = existsSync(p('metrics.jsonl')) ? readMetrics(p('metrics.jsonl'), warnings) : new Map<string, [number, number][]>();
  if (!existsSync(p('metrics.jsonl'))) warnings.push('no metrics.jsonl: no curves');

  let student: EvalEntry | undefined;
  let teacher: EvalEntry | undefined;
  if (existsSync(p('eval.json'))) {
    const e = parseJsonFile(p('eval.json'));
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new ReportError(p('eval.json'), 'must be a JSON object with "student" and/or "teacher"');
    student = readEvalEntry(p('eval.json'), 'student', (e as Record<string, unknown>).student);
    teacher = readEvalEntry(p('eval.json'), 'teacher', (e as Record<string, unknown>).teacher);
  } else {
    warnings.push('no eval.json: the eval table falls back to the last val/loss in metrics.jsonl');
  }

  const samples: Sample[] = [];
  if (existsSync(p('samples.jsonl'))) {
    for (const { line, value } of readJsonLines(p('samples.jsonl'), warnings)) {
      const { step, tag, text, prompt } = value;
      if (typeof step !== 'number' || typeof tag !== 'string' || typeof text !== 'string') {
        throw new ReportError(p('samples.jsonl'), `line ${line}: needs "step" (number), "tag" and "text" (strings)`);
      }
      samples.push({ step, tag, text, ...(typeof prompt === 'string' ? { prompt } : {}) });
    }
  }
  const profile = existsSync(p('profile.json')) ? readProfile(p('profile.json'), parseJsonFile(p('profile.json'))) : undefined;
  const recipe = existsSync(p('recipe.resolved.yaml')) ? readFileSync(p('recipe.resolved.yaml'), 'utf8') : undefined;
  return { dir: abs, name: info.name ?? basename(abs), info, metrics, student, teacher, samples, recipe, profile, warnings };
}

/** The last finite value of a metric, or undefined. */
export function lastValue(run: RunData, key: string): number | undefined {
  const s = run.metrics.get(key);
  if (!s) return undefined;
  for (let i = s.length - 1; i >= 0; i--) if (Number.isFinite(s[i][1])) return s[i][1];
  return undefined;
}

/** Final validation loss: eval.json student.valLoss, else the last val/loss in metrics.jsonl. */
export function finalValLoss(run: RunData): number | undefined {
  return run.student?.valLoss ?? lastValue(run, 'val/loss');
}
