// `distill doctor`: prints what distill will run on — CPU, the ISA the kernels use and why, the bf16
// teacher path, threads, backend and versions — as plain `key: value` lines a bug report can paste.
// Reports only; it changes nothing and measures nothing (the benchmarks do).
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { availableBackends, selectBackend } from '../engine/select.js';
import { loadNativeAddon, nativeLoadError } from '../engine/native/index.js';

/** The SIMD flags distill's dispatch looks at (native/cpu.cpp, native/isa/amx). */
const FLAGS = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512_bf16', 'amx_tile', 'amx_bf16'];

/** Model name, family/model and the relevant flags from /proc/cpuinfo (Linux), else os.cpus(). */
function cpuLine(): string {
  let text = '';
  try { text = readFileSync('/proc/cpuinfo', 'utf8'); } catch { /* not Linux */ }
  const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  const name = field('model name') ?? cpus()[0]?.model ?? 'unknown';
  const fam = field('cpu family'), model = field('model');
  const flags = new Set((field('flags') ?? '').split(/\s+/));
  const have = FLAGS.filter((f) => flags.has(f));
  return `${name}${fam ? ` (family ${fam}, model ${model})` : ''}, ${cpus().length} logical cores`
    + (text ? `; flags: ${have.join(' ') || 'none of ' + FLAGS.join(' ')}` : '');
}

const envNote = (k: string) => `${k}=${process.env[k] ?? 'unset'}`;

export function doctorReport(pkgVersion: string): string {
  const lines: string[] = [];
  const chosen = selectBackend();
  const addon = loadNativeAddon();
  lines.push(`distill ${pkgVersion}`);
  lines.push(`cpu: ${cpuLine()}`);
  lines.push(`backend: ${chosen.name}`);
  if (addon) {
    const i = addon.info();
    lines.push(`isa: ${i.isa} (CPU's best: ${i.cpuIsa}; ${envNote('DISTILL_ISA')})`);
    const why = i.bf16 === 'amx' ? 'native AMX tiles'
      : i.amx ? 'fp32 GEMM on bf16-rounded values; AMX is usable but DISTILL_AMX=0'
        : 'fp32 GEMM on bf16-rounded values; no usable AMX on this CPU/OS';
    lines.push(`bf16 teacher: ${i.bf16} (${why})`);
    lines.push(`threads: ${chosen.threads} (${envNote('DISTILL_THREADS')}; ${i.cores} cores)`);
    lines.push(`native: built (${i.compiler})`);
  } else {
    lines.push(`isa: ${chosen.isa} (native engine unavailable: ${nativeLoadError()})`);
    lines.push(`threads: ${chosen.threads}`);
  }
  lines.push(`available backends: ${availableBackends().map((b) => b.name).join(', ')}`);
  lines.push(`node: ${process.versions.node} (napi ${process.versions.napi}), v8 ${process.versions.v8}`);
  lines.push(`platform: ${process.platform}-${process.arch}, kernel ${release()}`);
  return lines.join('\n');
}

export function packageVersion(pkgJsonPath: URL): string {
  return (JSON.parse(readFileSync(pkgJsonPath, 'utf8')) as { version: string }).version;
}
