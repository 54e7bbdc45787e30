// GEMM throughput of the native engine (npm run bench:gemm): GFLOP/s for NN, NT, TN on the
// training step's shapes with 1 and 2 threads (median and best of timed reps after warm-up), and
// the N-API call overhead, each as % of this machine's measured fp32 FMA peak for the ISA the engine
// runs (bench/peak-fma.ts; DISTILL_ISA=avx2 caps both). Optionally oneDNN side by side
// (bench/gemm-onednn.ts); prints the load average, since the cores may be shared. Prints only.
import { cpus, loadavg } from 'node:os';
import { loadNativeAddon, nativeLoadError } from '../src/engine/native/index.js';
import { oneDnnBench, oneDnnMissing } from './gemm-onednn.js';
import { peakFma } from './peak-fma.js';

const addon = loadNativeAddon();
if (!addon) {
  console.error(`bench:gemm needs the native addon: ${nativeLoadError()}. Run \`npm run build:native\`.`);
  process.exit(1);
}

// (M, K, N): the four large shapes of a training step at B*T = 2048 (dim 288, hidden 768,
// vocab 32000, head/attention 64 x 512), and a square reference.
const SHAPES: [number, number, number][] = [[2048, 288, 768], [2048, 768, 288], [2048, 288, 32000], [2048, 64, 512], [512, 512, 512]];
const LAYOUTS = [['NN', false, false], ['NT', false, true], ['TN', true, false]] as const;
const threadCounts = (process.env.BENCH_THREADS ?? '1,2').split(',').map(Number);
const budgetS = Number(process.env.BENCH_SECONDS ?? '0.6'); // timed seconds per cell (at least 5 reps)

function fill(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; a[i] = s / 4294967296 - 0.5; }
  return a;
}

/** Median and best seconds of `fn` over reps that fill ~budgetS, after two warm-up calls. */
function time(fn: () => void): { med: number; best: number } {
  fn(); fn();
  const t0 = process.hrtime.bigint();
  fn();
  const once = Number(process.hrtime.bigint() - t0) / 1e9;
  const reps = Math.max(5, Math.min(200, Math.round(budgetS / Math.max(once, 1e-6))));
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const s = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - s) / 1e9);
  }
  ts.sort((x, y) => x - y);
  return { med: ts[Math.floor(reps / 2)], best: ts[0] };
}

const info = addon.info();
console.log(`distill native gemm: isa ${info.isa}, ${info.cores} cores (${cpus()[0]?.model ?? '?'}), ${info.compiler}`);
const measured = peakFma(Math.max(...threadCounts));
const peak = typeof measured === 'string' ? null : measured;
console.log(peak ? `measured fp32 FMA peak (bench/peak-fma.cpp, ${peak.isa}): ${peak.gflops.map((g, i) => `${i + 1} thread${i ? 's' : ''} ${g.toFixed(1)}`).join(', ')} GFLOP/s`
  : `(no FMA peak, so no % of peak: ${measured})`);
if (peak && peak.isa !== info.isa) console.log(`note: the engine runs ${info.isa} but the peak was measured with ${peak.isa}`);
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores (other jobs make figures noisy; compare columns of one run)`);
console.log(`GFLOP/s, median (best) of timed reps${peak ? ', median as % of the measured peak for that thread count' : ''}; C = op(A) op(B), beta = 0\n`);

const dnnl = process.env.BENCH_ONEDNN === '0' ? null : oneDnnBench();
const header = ['threads', 'M', 'K', 'N', ...LAYOUTS.map(([l]) => l), ...(dnnl ? LAYOUTS.map(([l]) => `oneDNN ${l}`) : [])];
const cellW = peak ? 21 : 15;
console.log(header.map((h, i) => h.padStart(i < 4 ? 7 : h.startsWith('oneDNN') ? 16 : cellW)).join(''));
for (const threads of threadCounts) {
  addon.setThreads(threads);
  for (const [M, K, N] of SHAPES) {
    const a = fill(M * K, 1), b = fill(K * N, 2), c = new Float32Array(M * N);
    const flop = 2 * M * N * K;
    const cells: string[] = [];
    for (const [, tA, tB] of LAYOUTS) {
      const t = time(() => addon.gemm(c, a, b, M, N, K, tA ? 1 : 0, tB ? 1 : 0, 1, 0));
      const pct = peak ? ` ${((100 * flop) / t.med / 1e9 / peak.gflops[threads - 1]).toFixed(0)}%` : '';
      cells.push(`${(flop / t.med / 1e9).toFixed(1)} (${(flop / t.best / 1e9).toFixed(1)})${pct}`.padStart(cellW));
    }
    if (dnnl) {
      for (const t of dnnl.run(M, K, N, threads, budgetS)) cells.push(`${t.med.toFixed(1)} (${t.best.toFixed(1)})`.padStart(16));
    }
    console.log(`${String(threads).padStart(7)}${String(M).padStart(7)}${String(K).padStart(7)}${String(N).padStart(7)}${cells.join('')}`);
  }
}
if (!dnnl) console.log(`\n(no oneDNN column: ${oneDnnMissing()})`);

// N-API overhead: a call that only unwraps one typed array, and a 1x1x1 gemm.
addon.setThreads(threadCounts[threadCounts.length - 1]);
const one = new Float32Array(1);
const nsPerCall = (fn: () => void): number => {
  const n = 200000;
  for (let i = 0; i < 10000; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / n;
};
const noopNs = nsPerCall(() => addon.noop(one));
const gemm1Ns = nsPerCall(() => addon.gemm(one, one, one, 1, 1, 1, 0, 0, 1, 0));
console.log(`\nN-API overhead: noop ${noopNs.toFixed(0)} ns/call, gemm 1x1x1 ${gemm1Ns.toFixed(0)} ns/call`);
