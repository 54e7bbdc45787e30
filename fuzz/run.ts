// `npm run fuzz`: mutation fuzzing of every parser distill has (fuzz/targets.ts), each in a child
// process (fuzz/worker.ts) under a watchdog. A child that dies is a crash, one whose progress stalls
// for --hang-ms is a hang; either way its input is kept and the child restarted after it. Prints one
// table: inputs, accepted, clean errors, unclean errors, crashes, hangs, allocations over 1 GiB.
// Everything but accepted and clean must be 0. It fixes nothing and is not a timed test.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUTCOMES, inputPath } from './protocol.js';
import { prepareSeeds, TARGETS, type FuzzTarget } from './targets.js';

export interface FuzzOptions {
  targets?: string[];
  /** Inputs per target. */
  n: number;
  seed: number;
  /** A child whose progress stalls this long is killed as hung. */
  hangMs: number;
  /** Targets fuzzed at once. */
  jobs: number;
  /** Where crashing, hanging and unclean inputs are kept. */
  out: string;
  /** Heap cap of each child (MiB): a JS array grown past it kills the child (a crash). */
  heapMiB?: number;
  onProgress?: (target: string, done: number) => void;
  /** Called as each target finishes (the CLI saves the table so far). */
  onTarget?: (s: TargetSummary) => void;
}

export interface TargetSummary {
  target: string;
  inputs: number;
  accepted: number;
  clean: number;
  unclean: number;
  crashes: number;
  hangs: number;
  alloc: number;
  seconds: number;
  /** One line per kept bad input: where it is and what happened. */
  findings: string[];
}

const workerJs = join(fileURLToPath(new URL('.', import.meta.url)), 'worker.js');

function workRoot(): string {
  const shm = '/dev/shm';
  return mkdtempSync(join(existsSync(shm) ? shm : tmpdir(), 'distill-fuzz-'));
}

/** Runs one child over [from, to); resolves with how it ended and the progress it left. */
function runChild(t: FuzzTarget, seedDir: string, work: string, from: number, to: number, o: FuzzOptions): Promise<{ ended: 'done' | 'crash' | 'hang'; counts: Float64Array; detail: string }> {
  const progress = join(work, 'progress.bin');
  rmSync(progress, { force: true });
  const child = spawn(process.execPath, [`--max-old-space-size=${o.heapMiB ?? 1024}`, workerJs, t.name, seedDir, work, String(from), String(to), String(o.seed), progress], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const read = (): Float64Array => {
    try { const b = readFileSync(progress); return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + 8 * (1 + OUTCOMES.length))); } catch { return new Float64Array(1 + OUTCOMES.length).fill(0); }
  };
  let last = -1, lastChange = Date.now(), hung = false;
  const timer = setInterval(() => {
    const i = read()[0];
    if (i !== last) { last = i; lastChange = Date.now(); o.onProgress?.(t.name, i); return; }
    if (Date.now() - lastChange > o.hangMs) { hung = true; child.kill('SIGKILL'); }
  }, 200);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(timer);
      const counts = read();
      if (code === 3) { reject(new Error(`fuzz: the ${t.name} worker failed to start: ${stderr}`)); return; }
      if (hung) resolve({ ended: 'hang', counts, detail: `no progress for ${o.hangMs} ms` });
      else if (code === 0 && counts[0] === to) resolve({ ended: 'done', counts, detail: '' });
      else resolve({ ended: 'crash', counts, detail: `exit ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
    });
  });
}

/** Fuzzes one target: restarts its child after each crash or hang until n inputs are done. */
async function fuzzTarget(t: FuzzTarget, seedDir: string, o: FuzzOptions): Promise<TargetSummary> {
  const t0 = performance.now();
  const work = workRoot();
  const s: TargetSummary = { target: t.name, inputs: o.n, accepted: 0, clean: 0, unclean: 0, crashes: 0, hangs: 0, alloc: 0, seconds: 0, findings: [] };
  const keep = join(o.out, t.name);
  try {
    let from = 0;
    while (from < o.n) {
      const r = await runChild(t, seedDir, work, from, o.n, o);
      for (let k = 0; k < OUTCOMES.length; k++) s[OUTCOMES[k]] += r.counts[1 + k];
      if (r.ended === 'done') break;
      const at = r.counts[0] ?? from;
      if (r.ended === 'hang') s.hangs++; else s.crashes++;
      mkdirSync(keep, { recursive: true });
      const dest = join(keep, `${r.ended}-${at}`);
      const input = inputPath(work, t.shape, t.ext);
      if (existsSync(input)) cpSync(input, join(dest, t.shape === 'file' ? `input${t.ext}` : 'input'), { recursive: true });
      s.findings.push(`${r.ended} at input ${at} (${dest}): ${r.detail}`);
      from = at + 1;
    }
    const samples = join(work, 'samples.jsonl');
    if (existsSync(samples)) {
      mkdirSync(keep, { recursive: true });
      for (const line of readFileSync(samples, 'utf8').trim().split('\n')) {
        const x = JSON.parse(line) as { i: number; outcome: string; what: string; seed: string; file: string; stack?: string };
        cpSync(join(work, `${x.outcome}-${x.i}`), join(keep, `${x.outcome}-${x.i}`), { recursive: true });
        s.findings.push(`${x.outcome} at input ${x.i} (${join(keep, `${x.outcome}-${x.i}`)}, seed ${x.seed}, file ${x.file}): ${x.what}${x.stack ? ` @ ${x.stack}` : ''}`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  s.seconds = (performance.now() - t0) / 1000;
  return s;
}

/** Prepares seeds once, then fuzzes the chosen targets `jobs` at a time. */
export async function fuzz(o: FuzzOptions): Promise<TargetSummary[]> {
  const chosen = o.targets ? o.targets.map((n) => {
    const t = TARGETS.find((x) => x.name === n);
    if (!t) throw new Error(`fuzz: unknown target '${n}'; targets are ${TARGETS.map((x) => x.name).join(', ')}`);
    return t;
  }) : [...TARGETS];
  const seedDir = workRoot();
  try {
    for (const t of chosen) prepareSeeds(seedDir, t);
    const results: TargetSummary[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: Math.max(1, o.jobs) }, async () => {
      while (next < chosen.length) {
        const t = chosen[next++];
        const r = await fuzzTarget(t, seedDir, o);
        results.push(r);
        o.onTarget?.(r);
      }
    }));
    return chosen.map((t) => results.find((r) => r.target === t.name)!);
  } finally {
    rmSync(seedDir, { recursive: true, force: true });
  }
}

export const badCount = (s: TargetSummary): number => s.unclean + s.crashes + s.hangs + s.alloc;

export function summaryTable(rows: TargetSummary[]): string {
  const head = ['target', 'inputs', 'accepted', 'clean errors', 'unclean errors', 'crashes', 'hangs', 'alloc > 1 GiB', 'inputs/s'];
  const body = rows.map((r) => [r.target, r.inputs, r.accepted, r.clean, r.unclean, r.crashes, r.hangs, r.alloc, (r.inputs / r.seconds).toFixed(0)].map(String));
  return [head, ...body].map((cells) => `| ${cells.join(' | ')} |`).join('\n').replace(/\n/, `\n|${head.map(() => '---').join('|')}|\n`);
}

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

async function cli(): Promise<void> {
  const n = Number(flag('n', '100000'));
  const o: FuzzOptions = {
    n, seed: Number(flag('seed', '1')), hangMs: Number(flag('hang-ms', '20000')), jobs: Number(flag('jobs', '2')),
    out: flag('out', 'fuzz-out'), targets: process.argv.includes('--targets') ? flag('targets', '').split(',') : undefined,
  };
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`fuzz: --n must be a positive integer, got ${flag('n', '')}`);
  let lastPrint = 0;
  const done = new Map<string, number>();
  o.onProgress = (t, i) => {
    done.set(t, i);
    if (Date.now() - lastPrint < 10_000) return;
    lastPrint = Date.now();
    process.stderr.write(`fuzz: ${[...done].map(([k, v]) => `${k} ${v}/${n}`).join(', ')}\n`);
  };
  mkdirSync(o.out, { recursive: true });
  const finished: TargetSummary[] = [];
  o.onTarget = (r) => {
    finished.push(r);
    writeFileSync(join(o.out, 'summary.json'), JSON.stringify({ seed: o.seed, n, rows: finished, complete: false }, null, 2));
  };
  const rows = await fuzz(o);
  const table = summaryTable(rows);
  console.log(table);
  for (const r of rows) for (const f of r.findings) console.log(`${r.target}: ${f}`);
  writeFileSync(join(o.out, 'summary.json'), JSON.stringify({ seed: o.seed, n, rows, complete: true }, null, 2));
  process.exitCode = rows.some((r) => badCount(r) > 0) ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli().catch((e: unknown) => { console.error((e as Error).message); process.exit(2); });
}
