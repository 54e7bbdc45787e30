// Runs a sweep's cells as ordinary `distill run` processes, N at a time, skipping cells already
// finished (their sweep-cell.json marker matches), and reports progress through a callback (cells
// done, running cells' steps, ETA). It neither prints nor summarises (cli/ and summary.ts do).
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { formatDuration } from '../monitor/progress.js';
import type { SweepCell } from './spec.js';

/** A cell with what running it costs: its tokens (steps × batch × seqLen) and steps. */
export interface PlannedCell extends SweepCell { tokens: number; steps: number }

export interface CellOutcome { name: string; status: 'done' | 'skipped' | 'failed'; seconds: number; error?: string }

export interface RunCellsOptions {
  /** The base recipe every cell overrides. */
  base: string;
  /** <outDir>/<sweep name>: cells are its sub-folders. */
  sweepDir: string;
  parallel: number;
  /** The `distill` entry script (dist/src/cli/main.js) the cell processes run. */
  cliPath: string;
  /** Base recipe sets `threads` itself: then cells keep it; otherwise cores/parallel each. */
  baseSetsThreads: boolean;
  /** One-line progress reports (cell started/finished, periodic status). */
  onProgress: (line: string) => void;
  /** parallel 1: the cell's own progress line goes here (stderr); else to <sweepDir>/logs/<cell>.log. */
  inheritOutput: boolean;
  /** Seconds between status lines while cells run (default 30). */
  statusEverySeconds?: number;
}

const MARKER = 'sweep-cell.json';

/** True when the cell's folder holds a finished run made with these same overrides. */
export function cellFinished(sweepDir: string, cell: SweepCell): boolean {
  const f = join(sweepDir, cell.name, MARKER);
  if (!existsSync(f) || !existsSync(join(sweepDir, cell.name, 'eval.json'))) return false;
  try {
    return JSON.stringify((JSON.parse(readFileSync(f, 'utf8')) as { overrides?: unknown }).overrides) === JSON.stringify(cell.overrides);
  } catch {
    return false;
  }
}

/** The step of a running cell: the last training line of its metrics.jsonl (0 before any). */
function cellStep(dir: string): number {
  const f = join(dir, 'metrics.jsonl');
  if (!existsSync(f)) return 0;
  const lines = readFileSync(f, 'utf8').trimEnd().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const o = JSON.parse(lines[i]) as { step?: number };
      if (typeof o.step === 'number') return o.step;
    } catch { /* a line being written */ }
  }
  return 0;
}

/** Runs every unfinished cell; resolves with one outcome per cell, in the cells' order. */
export async function runCells(cells: PlannedCell[], o: RunCellsOptions): Promise<CellOutcome[]> {
  mkdirSync(o.sweepDir, { recursive: true });
  const outcomes = new Map<string, CellOutcome>();
  const todo = cells.filter((c) => {
    if (!cellFinished(o.sweepDir, c)) return true;
    outcomes.set(c.name, { name: c.name, status: 'skipped', seconds: 0 });
    return false;
  });
  const totalTokens = todo.reduce((s, c) => s + c.tokens, 0);
  let doneTokens = 0;
  let failed = 0;
  const started = Date.now();
  const running = new Map<string, PlannedCell>();
  const threads = Math.max(1, Math.floor(cpus().length / o.parallel));
  const status = (): string => {
    const elapsed = (Date.now() - started) / 1000;
    const partial = [...running.values()].reduce((s, c) => s + (c.tokens * Math.min(1, cellStep(join(o.sweepDir, c.name)) / c.steps)), 0);
    const frac = (doneTokens + partial) / Math.max(1, totalTokens);
    const eta = frac > 0 ? elapsed * (1 - frac) / frac : NaN;
    const cellsDone = cells.length - todo.length + [...outcomes.values()].filter((x) => x.status !== 'skipped').length;
    const runningText = [...running.values()].map((c) => `${c.name} ${cellStep(join(o.sweepDir, c.name))}/${c.steps}`).join(', ');
    return `sweep: ${cellsDone}/${cells.length} cells done${failed ? ` (${failed} failed)` : ''}, ${(100 * frac).toFixed(0)}% of tokens, elapsed ${formatDuration(elapsed)}, ETA ${formatDuration(eta)}${runningText ? ` · running ${runningText}` : ''}`;
  };
  if (cells.length > todo.length) o.onProgress(`sweep: ${cells.length - todo.length} of ${cells.length} cells already finished (skipped)`);
  const timer = setInterval(() => { if (running.size > 0) o.onProgress(status()); }, (o.statusEverySeconds ?? 30) * 1000);
  timer.unref();

  const runOne = async (c: PlannedCell): Promise<void> => {
    running.set(c.name, c);
    o.onProgress(`sweep: cell ${c.name} started`);
    const r = await runCell(c, { ...o, threads: o.baseSetsThreads || o.parallel === 1 ? undefined : threads });
    running.delete(c.name);
    if (r.status === 'failed') failed++;
    outcomes.set(c.name, r);
    doneTokens += c.tokens;
    o.onProgress(`sweep: cell ${c.name} ${r.status === 'done' ? 'finished' : 'FAILED'} in ${formatDuration(r.seconds)} — ${status()}`);
  };

  const queue = [...todo];
  const workers = Array.from({ length: Math.min(o.parallel, queue.length) }, async () => {
    for (let c = queue.shift(); c; c = queue.shift()) await runOne(c);
  });
  await Promise.all(workers);
  clearInterval(timer);
  return cells.map((c) => outcomes.get(c.name)!);
}

/** Runs one cell as a `distill run` process (resumed from its checkpoint when it has one, else
 *  from scratch) and writes its sweep-cell.json marker when it succeeds. */
export async function runCell(c: SweepCell, o: { base: string; sweepDir: string; cliPath: string; inheritOutput: boolean; threads?: number }): Promise<CellOutcome> {
  const dir = join(o.sweepDir, c.name);
  const hasCheckpoint = existsSync(join(dir, 'checkpoints')) && readdirSync(join(dir, 'checkpoints')).length > 0;
  const args = [o.cliPath, 'run', o.base, ...c.overrides, ...(o.threads === undefined ? [] : [`threads=${o.threads}`]), hasCheckpoint ? '--resume' : '--overwrite'];
  const t0 = Date.now();
  const logFile = join(o.sweepDir, 'logs', `${c.name}.log`);
  const code = await new Promise<number>((resolve) => {
    const child = o.inheritOutput
      ? spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] })
      : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (!o.inheritOutput) {
      mkdirSync(join(o.sweepDir, 'logs'), { recursive: true });
      const log = createWriteStream(logFile);
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
    }
    child.on('error', () => resolve(-1));
    child.on('close', (n) => resolve(n ?? -1));
  });
  const seconds = (Date.now() - t0) / 1000;
  if (code !== 0) return { name: c.name, status: 'failed', seconds, error: `distill run exited with ${code}; ${o.inheritOutput ? 'its error is printed above' : `see ${logFile}`}` };
  writeFileSync(join(dir, MARKER), JSON.stringify({ overrides: c.overrides, point: c.point, seed: c.seed, seconds, finishedAt: new Date().toISOString() }, null, 1) + '\n');
  return { name: c.name, status: 'done', seconds };
}
