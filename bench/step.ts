// `npm run bench`: tokens/s and peak RSS of (a) teacher forward, (b) student hard-CE step, (c)
// online KD step on the issue-5 shapes, ours (each workload in its own bench/step-worker.ts
// process) and PyTorch's (bench/torch_step_bench.py under /usr/bin/python3 with its best setup on
// this machine), side by side with ratios, model FLOPs per token and % of the fp32 peak. Prints only.
// Env: BENCH_STEPS (timed steps, default 5), BENCH_WARMUP (default 2), BENCH_TORCH=0 skips PyTorch,
// BENCH_PEAK_GFLOPS (default 467), BENCH_PROFILE=1 also prints our per-op-group profile.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { peakFma, peakFmaMissing } from './peak-fma.js';
import { B, flopsPerToken, PEAK_GFLOPS, STUDENT, T, TEACHER, WORKLOADS, type StepResult, type Workload } from './step-shapes.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..'); // dist/bench -> repo root
const PYTHON = '/usr/bin/python3';
const torchScript = join(repo, 'bench', 'torch_step_bench.py');
const steps = process.env.BENCH_STEPS ?? '5';
const warmup = process.env.BENCH_WARMUP ?? '2';

function parseLines(out: string): StepResult[] {
  return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as StepResult);
}

function ours(w: Workload): StepResult {
  const args = [join(here, 'step-worker.js'), w, ...(process.env.BENCH_PROFILE === '1' ? ['--profile'] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_STEPS: steps, BENCH_WARMUP: warmup } });
  const res = r.status === 0 ? parseLines(r.stdout)[0] : undefined;
  if (!res) throw new Error(`bench: step-worker ${w} failed (exit ${r.status}); run \`node dist/bench/step-worker.js ${w}\` to see why`);
  return res;
}

/** PyTorch's results, or a one-line reason why there are none. */
function torch(): StepResult[] | string {
  if (process.env.BENCH_TORCH === '0') return 'skipped (BENCH_TORCH=0)';
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return `${PYTHON} has no torch (apt-get install -y python3-torch libopenblas-dev)`;
  const env = { ...process.env, OPENBLAS_CORETYPE: 'SkylakeX', OMP_WAIT_POLICY: 'PASSIVE' };
  const r = spawnSync(PYTHON, [torchScript, '--steps', steps, '--warmup', warmup], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) return `${torchScript} failed (exit ${r.status})`;
  return parseLines(r.stdout);
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const pctPeak = (tps: number, w: Workload) => (100 * tps * flopsPerToken(w)) / 1e9 / PEAK_GFLOPS;

console.log(`step benchmarks: B=${B} T=${T}; teacher dim ${TEACHER.dim} L${TEACHER.nLayers} NH${TEACHER.nHeads} hidden ${TEACHER.hiddenDim}; `
  + `student dim ${STUDENT.dim} L${STUDENT.nLayers} NH${STUDENT.nHeads} hidden ${STUDENT.hiddenDim}; vocab ${TEACHER.vocabSize}`);
console.log(`${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; `
  + `${warmup} warm-up + ${steps} timed steps (median), fp32 peak ${PEAK_GFLOPS} GFLOP/s`);

// The nominal peak (467, the issue's figure) and this machine's measured one (bench/peak-fma.cpp,
// 2 threads), so %peak can be read against both.
const measured = peakFma(2)?.[1] ?? null;
const mine = WORKLOADS.map(ours);
const theirs = torch();
const tRes = typeof theirs === 'string' ? null : theirs;
const rows: string[][] = [['workload', 'MFLOP/tok', 'ours tok/s', 'ours RSS', 'ours %peak', ...(measured ? ['ours %meas'] : []),
  ...(tRes ? ['torch tok/s', 'torch RSS', 'torch %peak', 'speed ×', 'RSS ratio'] : [])]];
for (const m of mine) {
  const row = [m.workload, (flopsPerToken(m.workload) / 1e6).toFixed(1), m.tokensPerSec.toFixed(0), mib(m.peakRssBytes), pctPeak(m.tokensPerSec, m.workload).toFixed(1)];
  if (measured) row.push((pctPeak(m.tokensPerSec, m.workload) * PEAK_GFLOPS / measured).toFixed(1));
  const t = tRes?.find((x) => x.workload === m.workload);
  if (t) {
    row.push(t.tokensPerSec.toFixed(0), mib(t.peakRssBytes), pctPeak(t.tokensPerSec, t.workload).toFixed(1),
      (m.tokensPerSec / t.tokensPerSec).toFixed(2), (m.peakRssBytes / t.peakRssBytes).toFixed(2));
  } else if (tRes) row.push('—', '—', '—', '—', '—');
  rows.push(row);
}
const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
const lines = rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(w[c]) : cell.padStart(w[c]))).join('  '));
lines.splice(1, 0, w.map((n) => '-'.repeat(n)).join('  '));
console.log(`\n${lines.join('\n')}\n`);
console.log('speed × = ours tok/s ÷ torch tok/s; RSS ratio = ours peak RSS ÷ torch peak RSS (each workload in its own process).');
console.log('MFLOP/tok: forward 2·P + 4·L·T·C (P = matmul weights incl. the tied head), training step 3× that, KD = teacher forward + student step;');
console.log(`%peak = tok/s × FLOP/tok ÷ ${PEAK_GFLOPS} GFLOP/s (nominal)${measured ? `; %meas = the same ÷ ${measured.toFixed(0)} GFLOP/s, this machine's fp32 FMA peak measured just now (bench/peak-fma.cpp, 2 threads)` : ` (measured peak unavailable: ${peakFmaMissing()})`}.`);
console.log('-bf16 rows: the teacher in bf16 (ours: ModelTeacher precision bf16, weights rounded once, AMX tiles where the CPU has them;');
console.log('  PyTorch: teacher.to(torch.bfloat16), DNNL_MAX_CPU_ISA=AVX512_CORE_BF16); the student trains in fp32 in both. Same model FLOPs counted.');
console.log('issue-5 targets: speed × teacher-forward ≥ 1.5, ce-step ≥ 2, kd-step ≥ 3; kd-step RSS ratio ≤ 0.5; kd-step ≥ 50 %peak.');
if (typeof theirs === 'string') console.log(`PyTorch: not run — ${theirs}.`);
else console.log(`PyTorch: ${PYTHON} bench/torch_step_bench.py with OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE, set_num_threads(2).`);
