// Measured fp32 FMA peak for the benchmarks: compiles bench/peak-fma.cpp with g++ into build/bench/
// (on first use or when the source is newer) and runs it. It measures with the widest FMA the CPU
// has (AVX-512 or AVX2), capped by DISTILL_ISA like the engine, so % of peak is against the code
// path that runs. Bench-only; there is no nominal fallback: without g++ or SIMD FMA it says why.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// bench/ (source) or dist/bench/ (compiled) -> repo root.
const root = here.endsWith(join('dist', 'bench')) ? join(here, '../..') : join(here, '..');

export interface FmaPeak {
  /** The FMA width measured: 'avx512' (zmm) or 'avx2' (ymm, FMA3). */
  isa: string;
  /** Best-of-5 GFLOP/s on 1..maxThreads threads (index t-1). */
  gflops: number[];
}

/** The measured peak, or a one-line reason why there is none. */
export function peakFma(maxThreads: number): FmaPeak | string {
  const src = join(root, 'bench', 'peak-fma.cpp');
  const exe = join(root, 'build', 'bench', 'peak-fma');
  if (!existsSync(exe) || statSync(exe).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(dirname(exe), { recursive: true });
    const r = spawnSync('g++', ['-O2', '-pthread', '-o', exe, src], { encoding: 'utf8' });
    if (r.status !== 0) return `g++ failed on ${src}: ${(r.stderr || r.error?.message || '').slice(0, 200)}`;
  }
  const r = spawnSync(exe, [String(maxThreads)], { encoding: 'utf8' });
  if (r.status !== 0) return `${exe} failed: ${(r.stderr || String(r.signal)).trim().slice(0, 200)}`;
  const isa = /^isa (\w+)/m.exec(r.stdout)?.[1];
  const gflops = [...r.stdout.matchAll(/threads (\d+): peak fp32 FMA ([\d.]+)/g)].map((m) => Number(m[2]));
  if (!isa || gflops.length !== maxThreads) return `unexpected output from ${exe}: ${r.stdout.slice(0, 200)}`;
  return { isa, gflops };
}
