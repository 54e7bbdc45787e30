// The non-GEMM ops of a training step at the issue-5 shapes, one at a time on the native addon:
// `node dist/bench/step-ops.js` prints ms per call (median) with 1 and 2 threads, for tuning
// attention, norms, activations, rope, embedding and AdamW. Prints only; no correctness checks
// (test/native-ops.test.ts and test/engine-parity.test.ts pin those).
import { loadNativeAddon, nativeLoadError } from '../src/engine/native/index.js';
import { ropeTables } from '../src/engine/rope-tables.js';
import { B, STUDENT, T, TEACHER, VOCAB } from './step-shapes.js';

const a = loadNativeAddon();
if (!a) {
  console.error(`step-ops needs the native addon: ${nativeLoadError()}`);
  process.exit(1);
}
const budget = Number(process.env.BENCH_SECONDS ?? '0.3');

function fill(n: number, seed: number, scale = 1): Float32Array {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; x[i] = (s / 4294967296 - 0.5) * scale; }
  return x;
}

function median(fn: () => void): number {
  fn(); fn();
  const t0 = performance.now();
  fn();
  const once = (performance.now() - t0) / 1000;
  const reps = Math.max(5, Math.min(300, Math.round(budget / Math.max(once, 1e-6))));
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const s = performance.now();
    fn();
    ts.push(performance.now() - s);
  }
  ts.sort((x, y) => x - y);
  return ts[Math.floor(reps / 2)];
}

interface Case { name: string; run: () => void }
const cases: Case[] = [];
for (const [label, c] of [['student', STUDENT], ['teacher', TEACHER]] as const) {
  const N = B * T, C = c.dim, H = c.hiddenDim, NH = c.nHeads, HS = C / NH;
  const q = fill(N * C, 1, 2), k = fill(N * C, 2, 2), v = fill(N * C, 3, 2), out = new Float32Array(N * C);
  const lse = new Float32Array(B * NH * T), dOut = fill(N * C, 4), dq = new Float32Array(N * C), dk = new Float32Array(N * C), dv = new Float32Array(N * C);
  cases.push({ name: `${label} attentionForward (HS ${HS})`, run: () => a.attentionForward(out, lse, q, k, v, B, T, T, NH, NH, HS) });
  cases.push({ name: `${label} attentionBackward (HS ${HS})`, run: () => a.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, B, T, T, NH, NH, HS) });
  const x = fill(N * C, 5), w = fill(C, 6), rstd = new Float32Array(N), h = new Float32Array(N * C), dw = new Float32Array(C);
  cases.push({ name: `${label} rmsnormForward (C ${C})`, run: () => a.rmsnormForward(h, rstd, x, w, N, C, 1e-5) });
  cases.push({ name: `${label} rmsnormBackward (C ${C})`, run: () => a.rmsnormBackward(dq, dw, dOut, x, w, rstd, N, C) });
  const g = fill(N * H, 7, 4), u = fill(N * H, 8), act = new Float32Array(N * H), dg = new Float32Array(N * H), du = new Float32Array(N * H), da = fill(N * H, 9);
  cases.push({ name: `${label} swigluForward (N·H ${N * H})`, run: () => a.swigluForward(act, g, u, N * H) });
  cases.push({ name: `${label} swigluBackward (N·H ${N * H})`, run: () => a.swigluBackward(dg, du, da, g, u, N * H) });
  // Real rotations (|cos, sin| pairs of norm 1), out of place: repeated in-place calls with other
  // tables would shrink the data into denormals and time those instead.
  const { cos, sin } = ropeTables(T, HS, 10000);
  const rot = new Float32Array(N * C);
  cases.push({ name: `${label} ropeForward q (HS ${HS})`, run: () => a.ropeForward(rot, q, cos, sin, B, T, NH, HS, 0) });
  cases.push({ name: `${label} ropeBackward q (HS ${HS})`, run: () => a.ropeBackward(rot, dOut, cos, sin, B, T, NH, HS, 0) });
  const ids = new Int32Array(N);
  for (let i = 0; i < N; i++) ids[i] = (i * 7919) % VOCAB;
  const table = fill(VOCAB * C, 12), dTable = new Float32Array(VOCAB * C);
  cases.push({ name: `${label} embeddingForward (C ${C})`, run: () => a.embeddingForward(h, ids, table, N, VOCAB, C) });
  if (label === 'student') {
    cases.push({ name: `${label} embeddingBackward (C ${C})`, run: () => a.embeddingBackward(dTable, dOut, ids, N, VOCAB, C) });
    const P = 4_948_608, p = fill(P, 13), gr = fill(P, 14), m = new Float32Array(P), vv = new Float32Array(P);
    let step = 0;
    cases.push({ name: `${label} adamwStep (n ${P})`, run: () => a.adamwStep(p, gr, m, vv, P, 1e-3, 0.9, 0.95, 1e-8, 0.1, ++step) });
  }
}

const threads = (process.env.BENCH_THREADS ?? '1,2').split(',').map(Number);
const only = process.env.BENCH_ONLY;
const width = Math.max(...cases.map((c) => c.name.length));
console.log(`${'op'.padEnd(width)}  ${threads.map((t) => `${t} thr ms`.padStart(10)).join('')}`);
const res: number[][] = cases.map(() => []);
for (const t of threads) {
  a.setThreads(t);
  cases.forEach((c, i) => { if (!only || c.name.includes(only)) res[i].push(median(c.run)); });
}
cases.forEach((c, i) => { if (res[i].length) console.log(`${c.name.padEnd(width)}  ${res[i].map((ms) => ms.toFixed(3).padStart(10)).join('')}`); });
