// Randomized self-check of the native GEMM (every layout, alpha/beta, odd and edge sizes) against
// a float64 naive loop, for each ISA path: the CPU's best in-process, and each of avx512, avx2 and
// scalar in a child process (the ISA is fixed once per process; a path the CPU lacks is skipped).
// PyTorch parity lives elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadNativeAddon, type NativeAddon } from '../src/engine/native/index.js';

const addon = loadNativeAddon();
const skip = addon ? false : 'native addon not built';

/** xorshift32 in [-1, 1): deterministic across runs so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2147483648 - 1;
  };
}

/** C = alpha op(A) op(B) + beta C in float64 (beta = 0 ignores C). */
function naiveGemm(c: Float64Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number,
                   tA: boolean, tB: boolean, alpha: number, beta: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (tA ? a[k * M + i] : a[i * K + k]) * (tB ? b[j * K + k] : b[k * N + j]);
      c[i * N + j] = beta === 0 ? alpha * s : alpha * s + beta * c[i * N + j];
    }
  }
}

interface Case { M: number; N: number; K: number; tA: boolean; tB: boolean; alpha: number; beta: number }

// Sizes around the tile edges of both kernels (14x32 and 6x16), the 16-wide transposing pack
// (15, 17, 31, 33, 47), the K-block split (KC = 320 avx512 / 288 avx2: 333 and 700 cross it) and
// the packed super-blocks (MC = NC = 4096: M = 4111, 4100 and N = 4150, 4200 cross them, in all
// four layouts), the matrix-vector path (M = 1 or N = 1 above the tiny-product cutoff, all four
// layouts), the split-K path (long K into a small C with 2+ threads: K >= 4 KC, the last four, one
// per layout), plus 0 for K (C = beta C). BIG[t] runs with layout t % 4 (see cases()).
const SIZES = [1, 2, 3, 5, 6, 7, 13, 14, 15, 16, 17, 31, 32, 33, 47, 48, 65];
const BIG = [[257, 70, 333], [100, 257, 700], [29, 1100, 17], [4111, 20, 37], [33, 4150, 29],
  [4100, 40, 45], [45, 4200, 70], [130, 300, 1000], [1, 5000, 300], [700, 1, 900], [1, 3000, 201],
  [500, 1, 401], [33, 70, 3000], [47, 29, 2900], [65, 17, 2600], [130, 48, 4000]];

function cases(seed: number, n: number): Case[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor((r() + 1) / 2 * xs.length) % xs.length];
  const out: Case[] = [];
  for (let t = 0; t < n; t++) {
    const [M, N, K] = t < BIG.length ? BIG[t] : [pick(SIZES), pick(SIZES), t % 37 === 5 ? 0 : pick(SIZES)];
    out.push({ M, N, K, tA: t % 2 === 1, tB: (t >> 1) % 2 === 1, alpha: pick([1, 0.5, -1.25]), beta: pick([0, 1, -0.5]) });
  }
  return out;
}

/** Runs every case on `g`; returns a list of failure descriptions (empty when all pass). */
function check(g: NativeAddon['gemm'], all: Case[], seed: number): string[] {
  const r = rng(seed + 1);
  const fails: string[] = [];
  for (const cs of all) {
    const { M, N, K, tA, tB, alpha, beta } = cs;
    const a = Float32Array.from({ length: M * K }, r), b = Float32Array.from({ length: K * N }, r);
    const c = Float32Array.from({ length: M * N }, r);
    if (beta === 0) c.fill(NaN); // beta = 0 must not read C
    const want = Float64Array.from(c);
    naiveGemm(want, a, b, M, N, K, tA, tB, alpha, beta);
    g(c, a, b, M, N, K, tA ? 1 : 0, tB ? 1 : 0, alpha, beta);
    // fp32 accumulation of K products of values in [-1,1): error grows ~ sqrt(K) eps; 1e-5 (K+1)
    // per unit |value| is loose for a correct kernel and far below any indexing/packing mistake.
    const tol = 1e-5 * (K + 1) + 1e-6;
    for (let i = 0; i < M * N; i++) {
      if (!(Math.abs(c[i] - want[i]) <= tol * (1 + Math.abs(want[i])))) {
        fails.push(`${JSON.stringify(cs)}: C[${Math.floor(i / N)},${i % N}] = ${c[i]}, want ${want[i]}`);
        break;
      }
    }
  }
  return fails;
}

// Child-process mode: DISTILL_GEMM_CHECK_CHILD=<seed> runs the check on whatever ISA
// $DISTILL_ISA selected and prints one JSON line { isa, fails }.
if (process.env.DISTILL_GEMM_CHECK_CHILD && addon) {
  const seed = Number(process.env.DISTILL_GEMM_CHECK_CHILD);
  for (const threads of [1, 2]) {
    addon.setThreads(threads);
    const fails = check(addon.gemm, cases(seed, 120), seed);
    console.log(JSON.stringify({ isa: addon.info().isa, threads, fails }));
  }
  process.exit(0);
}

test('native gemm (best ISA) matches a float64 loop on odd sizes, all layouts, alpha/beta', { skip }, () => {
  const a = addon!;
  for (const threads of [1, 2]) {
    a.setThreads(threads);
    assert.deepEqual(check(a.gemm, cases(7 + threads, 200), 7), [], `isa ${a.info().isa}, ${threads} threads`);
  }
});

test('native gemm under NaN-filled C with beta = 0 writes finite values (C is never read)', { skip }, () => {
  const a = addon!;
  const M = 33, N = 70, K = 19;
  const c = new Float32Array(M * N).fill(NaN);
  a.gemm(c, new Float32Array(M * K).fill(1), new Float32Array(K * N).fill(2), M, N, K, 0, 0, 1, 0);
  assert.ok(c.every((v) => v === 38), 'every C = sum of K products 1*2 = 38');
});

// Each ISA path in its own child. A path the CPU lacks is skipped by name (DISTILL_ISA only lowers
// the ISA, so asking for it would silently test a narrower one).
const ORDER = ['scalar', 'avx2', 'avx512'];
for (const isa of ['avx512', 'avx2', 'scalar']) {
  const lacks = addon && ORDER.indexOf(addon.info().cpuIsa) < ORDER.indexOf(isa) ? `this CPU lacks ${isa} (best: ${addon.info().cpuIsa})` : false;
  test(`native gemm with DISTILL_ISA=${isa} (child process) matches a float64 loop`, { skip: skip || lacks }, () => {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, DISTILL_ISA: isa, DISTILL_GEMM_CHECK_CHILD: '11' }, encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { isa: string; threads: number; fails: string[] });
    assert.equal(lines.length, 2, r.stdout);
    for (const l of lines) {
      assert.equal(l.isa, isa);
      assert.deepEqual(l.fails, [], `DISTILL_ISA=${isa}, ${l.threads} threads`);
    }
  });
}
