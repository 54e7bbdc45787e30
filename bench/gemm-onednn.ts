// Optional oneDNN reference for bench/gemm.ts: compiles bench/gemm-onednn.cpp with g++ against the
// runtime libdnnl.so.2 (apt: libdnnl2 or libdnnl-dev) into build/bench/, then runs it per shape.
// Bench-only; returns null (and a reason) when the library or g++ is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// bench/ (source) or dist/bench/ (compiled) -> repo root.
const root = here.endsWith(join('dist', 'bench')) ? join(here, '../..') : join(here, '..');
const LIBS = ['/usr/lib/x86_64-linux-gnu/libdnnl.so.2', '/usr/lib/x86_64-linux-gnu/libdnnl.so', '/usr/local/lib/libdnnl.so.2'];
let missing = 'not tried';

export function oneDnnMissing(): string { return missing; }

export interface OneDnn {
  /** GFLOP/s {med, best} for NN, NT, TN at (M,K,N) with `threads` OpenMP threads. */
  run(M: number, K: number, N: number, threads: number, seconds: number): { med: number; best: number }[];
}

export function oneDnnBench(): OneDnn | null {
  const lib = LIBS.find((p) => existsSync(p));
  if (!lib) { missing = 'libdnnl.so.2 not found (apt-get install -y libdnnl2)'; return null; }
  const src = join(root, 'bench', 'gemm-onednn.cpp');
  const exe = join(root, 'build', 'bench', 'gemm-onednn');
  if (!existsSync(exe) || statSync(exe).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(dirname(exe), { recursive: true });
    const r = spawnSync('g++', ['-O2', '-o', exe, src, lib], { encoding: 'utf8' });
    if (r.status !== 0) { missing = `g++ failed on ${src}: ${(r.stderr || r.error?.message || '').slice(0, 200)}`; return null; }
  }
  return {
    run(M, K, N, threads, seconds) {
      const r = spawnSync(exe, [M, K, N, seconds].map(String), { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads), ...(process.env.DISTILL_ISA === 'avx2' ? { DNNL_MAX_CPU_ISA: 'AVX2' } : {}) } });
      if (r.status !== 0) throw new Error(`${exe} failed: ${r.stderr}`);
      return r.stdout.trim().split('\n').map((l) => { const [med, best] = l.split(' ').map(Number); return { med, best }; });
    },
  };
}
