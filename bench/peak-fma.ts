// Measured fp32 FMA peak for bench/gemm.ts: compiles bench/peak-fma.cpp with g++ into build/bench/
// (on first use or when the source is newer) and runs it, so GEMM figures can be read as % of the
// machine's real peak. Bench-only; returns null (and a reason) without g++ or AVX-512.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// bench/ (source) or dist/bench/ (compiled) -> repo root.
const root = here.endsWith(join('dist', 'bench')) ? join(here, '../..') : join(here, '..');
let missing = 'not tried';

export function peakFmaMissing(): string { return missing; }

/** Best-of-5 fp32 FMA GFLOP/s for 1..maxThreads threads (index t-1), or null. */
export function peakFma(maxThreads: number): number[] | null {
  const src = join(root, 'bench', 'peak-fma.cpp');
  const exe = join(root, 'build', 'bench', 'peak-fma');
  if (!existsSync(exe) || statSync(exe).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(dirname(exe), { recursive: true });
    const r = spawnSync('g++', ['-O2', '-mavx512f', '-pthread', '-o', exe, src], { encoding: 'utf8' });
    if (r.status !== 0) { missing = `g++ failed on ${src}: ${(r.stderr || r.error?.message || '').slice(0, 200)}`; return null; }
  }
  const r = spawnSync(exe, [String(maxThreads)], { encoding: 'utf8' });
  if (r.status !== 0) { missing = `${exe} failed (no AVX-512?): ${(r.stderr || String(r.signal)).slice(0, 200)}`; return null; }
  const out = [...r.stdout.matchAll(/threads (\d+): peak fp32 FMA ([\d.]+)/g)].map((m) => Number(m[2]));
  if (out.length !== maxThreads) { missing = `unexpected output from ${exe}: ${r.stdout.slice(0, 200)}`; return null; }
  return out;
}
