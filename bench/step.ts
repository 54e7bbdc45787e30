// `npm run bench`: tokens/s and peak RSS of (a) teacher forward, (b) student hard-CE step, (c)
// online KD step on the issue-5 shapes, ours (each workload in its own bench/step-worker.ts
// process) and PyTorch's (bench/torch_step_bench.py under /usr/bin/python3, which sets PyTorch up at
// its best on this CPU and refuses the reference BLAS), side by side with ratios, model FLOPs per
// token and % of this machine's measured fp32 FMA peak (bench/peak-fma.ts). Prints only.
// Then our teacher forward beside llama.cpp (node-llama-cpp) on the same weights as GGUF (llama-cpp-row.ts).
// Env: BENCH_STEPS (timed steps, default 5), BENCH_WARMUP (default 2), BENCH_TORCH=0 skips PyTorch,
// BENCH_LLAMA_CPP=0 skips llama.cpp, BENCH_PROFILE=1 also prints our per-op-group profile,
// DISTILL_ISA=avx2 caps both sides at AVX2 (ours and PyTorch; llama.cpp picks its own kernels).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printLlamaCppRows } from './llama-cpp-row.js';
import { peakFma } from './peak-fma.js';
import { B, flopsPerToken, STUDENT, T, TEACHER, WORKLOADS, type StepResult, type Workload } from './step-shapes.js';

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

/** What bench/torch_step_bench.py --probe found: the BLAS torch calls, OpenBLAS's kernel, speed. */
interface TorchProbe { blas: string | null; openblasCore: string | null; matmulGflops: number; atenCapability: string | null; allocator: string }

/** PyTorch's results and its probe, or a one-line reason why there are none. */
function torch(): { probe: TorchProbe; results: StepResult[] } | string {
  if (process.env.BENCH_TORCH === '0') return 'skipped (BENCH_TORCH=0)';
  if (!existsSync(PYTHON)) return `${PYTHON} not found (apt-get install -y python3-torch libopenblas0-pthread)`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return `${PYTHON} has no torch (apt-get install -y python3-torch libopenblas0-pthread)`;
  const r = spawnSync(PYTHON, [torchScript, '--steps', steps, '--warmup', warmup], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  if (r.status === 3) return `refused: ${r.stderr.trim()}`;
  if (r.status !== 0) return `${torchScript} failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop() ?? ''}`;
  const p = lines.find((l) => l.probe === true);
  if (!p) return `${torchScript} printed no probe line`;
  return { probe: p as unknown as TorchProbe, results: lines.filter((l) => l.probe !== true) as unknown as StepResult[] };
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

// This machine's fp32 FMA peak on 2 threads for the ISA our engine runs (DISTILL_ISA caps both).
const peak = peakFma(2);
const peakG = typeof peak === 'string' ? null : peak.gflops[1];
const pctPeak = (tps: number, w: Workload) => (peakG ? ((100 * tps * flopsPerToken(w)) / 1e9 / peakG).toFixed(1) : '—');

console.log(`step benchmarks: B=${B} T=${T}; teacher dim ${TEACHER.dim} L${TEACHER.nLayers} NH${TEACHER.nHeads} hidden ${TEACHER.hiddenDim}; `
  + `student dim ${STUDENT.dim} L${STUDENT.nLayers} NH${STUDENT.nHeads} hidden ${STUDENT.hiddenDim}; vocab ${TEACHER.vocabSize}`);
console.log(`${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; `
  + `${warmup} warm-up + ${steps} timed steps (median)`);
console.log(typeof peak === 'string' ? `fp32 FMA peak: not measured (${peak}); no %peak column`
  : `fp32 FMA peak, measured just now (bench/peak-fma.cpp, ${peak.isa}, 2 threads): ${peak.gflops[1].toFixed(1)} GFLOP/s`);

const mine = WORKLOADS.map(ours);
const theirs = torch();
const tRes = typeof theirs === 'string' ? null : theirs.results;
const failed: string[] = [];
const rows: string[][] = [['workload', 'MFLOP/tok', 'ours tok/s', 'ours RSS', 'ours %peak',
  ...(tRes ? ['torch tok/s', 'torch RSS', 'torch %peak', 'speed ×', 'RSS ratio'] : [])]];
for (const m of mine) {
  const row = [m.workload, (flopsPerToken(m.workload) / 1e6).toFixed(1), m.tokensPerSec.toFixed(0), mib(m.peakRssBytes), pctPeak(m.tokensPerSec, m.workload)];
  const t = tRes?.find((x) => x.workload === m.workload);
  if (t?.error) failed.push(`${m.workload}: ${t.error}`);
  if (t && !t.error) {
    row.push(t.tokensPerSec.toFixed(0), mib(t.peakRssBytes), pctPeak(t.tokensPerSec, t.workload),
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
console.log(`%peak = tok/s × FLOP/tok ÷ the measured fp32 FMA peak above${process.env.DISTILL_ISA ? ` (DISTILL_ISA=${process.env.DISTILL_ISA}: both sides capped)` : ''}.`);
console.log('-bf16 rows: the teacher in bf16 (ours: ModelTeacher precision bf16, weights rounded once, AMX tiles where the CPU has them;');
console.log('  PyTorch: teacher.to(torch.bfloat16)); the student trains in fp32 in both. Same model FLOPs counted.');
console.log('issue-10 targets: speed × teacher-forward ≥ 1.5, ce-step ≥ 2, kd-step ≥ 3; kd-step RSS ratio ≤ 0.5; kd-step ≥ 50 %peak.');
for (const f of failed) console.log(`PyTorch could not run ${f}`);
if (typeof theirs === 'string') console.log(`PyTorch: not run — ${theirs}.`);
else {
  const p = theirs.probe;
  console.log(`PyTorch: ${PYTHON} bench/torch_step_bench.py, 2 threads; its matmuls on ${p.blas}`
    + `${p.openblasCore ? ` (OpenBLAS kernel ${p.openblasCore})` : ''}${p.atenCapability ? `, ATen ${p.atenCapability}` : ''}, `
    + `${p.matmulGflops.toFixed(0)} GFLOP/s on 2048×288×32000; allocator ${p.allocator}`
    + `${p.allocator.includes('tcmalloc') ? '' : ' (apt-get install -y libtcmalloc-minimal4: glibc malloc page-faults PyTorch\'s per-step tensors back in, much slower on some VMs)'}.`);
}
printLlamaCppRows(join(here, 'llama-cpp-worker.js'), mine, ours, { ...process.env, BENCH_STEPS: steps, BENCH_WARMUP: warmup });
