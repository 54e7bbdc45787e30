// Loads the C++ addon (native/, built at install by scripts/build-native.mjs) and exposes it as
// a Backend. Only argument marshalling lives here: booleans become 0/1, rope modes 0/1, the loss
// ops' kinds the codes of loss-kinds.ts. It does not validate sizes (the addon does, and throws a
// RangeError naming the argument).

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkBf16Weight } from '../bf16-weight.js';
import type { Backend, Bf16Weight, F32, HeadLossResult, I32, LossResult, LossTeacher, RopeMode } from '../backend.js';
import { TAIL_MODES, TAIL_MODE_CODES, TEACHER_FORM_CODES, divergenceEntry, divergenceParam, type Divergence } from '../loss-kinds.js';

/** The functions the addon exports (native/binding.cpp). */
export interface NativeAddon {
  info(): {
    /** ISA the kernels run (the CPU's best, capped by DISTILL_ISA); cpuIsa: the CPU's best. */
    isa: string; cpuIsa: string; threads: number; cores: number; compiler: string;
    /** bf16 teacher path in use; amx: whether AMX tiles are usable at all (CPU + OS). */
    bf16: 'amx' | 'emulated'; amx: boolean;
  };
  setThreads(n: number): void;
  gemm(c: F32, a: F32, b: F32, M: number, N: number, K: number, transA: number, transB: number, alpha: number, beta: number): void;
  embeddingForward(out: F32, ids: I32, table: F32, N: number, V: number, C: number): void;
  embeddingBackward(dTable: F32, dOut: F32, ids: I32, N: number, V: number, C: number): void;
  rmsnormForward(out: F32, rstd: F32, inp: F32, weight: F32, N: number, C: number, eps: number): void;
  rmsnormBackward(dInp: F32, dWeight: F32, dOut: F32, inp: F32, weight: F32, rstd: F32, N: number, C: number): void;
  layernormForward(out: F32, mean: F32, rstd: F32, inp: F32, weight: F32, bias: F32, N: number, C: number, eps: number): void;
  layernormBackward(dInp: F32, dWeight: F32, dBias: F32, dOut: F32, inp: F32, weight: F32, mean: F32, rstd: F32, N: number, C: number): void;
  ropeForward(out: F32, inp: F32, cos: F32, sin: F32, B: number, T: number, NH: number, HS: number, mode: number): void;
  ropeBackward(dInp: F32, dOut: F32, cos: F32, sin: F32, B: number, T: number, NH: number, HS: number, mode: number): void;
  attentionForward(out: F32, lse: F32, q: F32, k: F32, v: F32, B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number): void;
  attentionBackward(dq: F32, dk: F32, dv: F32, dOut: F32, q: F32, k: F32, v: F32, out: F32, lse: F32, B: number, Tq: number, Tk: number, NH: number, NKV: number, HS: number): void;
  siluForward(out: F32, inp: F32, n: number): void;
  siluBackward(dInp: F32, dOut: F32, inp: F32, n: number): void;
  geluForward(out: F32, inp: F32, n: number): void;
  geluBackward(dInp: F32, dOut: F32, inp: F32, n: number): void;
  swigluForward(out: F32, gate: F32, up: F32, n: number): void;
  swigluBackward(dGate: F32, dUp: F32, dOut: F32, gate: F32, up: F32, n: number): void;
  crossEntropyForward(losses: F32, lse: F32, logits: F32, targets: I32, N: number, V: number, ignoreIndex: number): void;
  crossEntropyBackward(dLogits: F32, dLosses: F32, logits: F32, lse: F32, targets: I32, N: number, V: number, ignoreIndex: number): void;
  adamwStep(params: F32, grads: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void;
  topkForward(values: F32, indices: I32, inp: F32, N: number, V: number, k: number): void;
  sampleRows(out: I32, logits: F32, N: number, V: number, temperature: number, topK: number, topP: number, uniforms: Float64Array): void;
  topkBackward(dInp: F32, dValues: F32, indices: I32, N: number, V: number, k: number): void;
  /** One object: the Backend argument with kinds as codes (see wireTeacher, wireOptions). */
  headLossForwardBackward(args: object): HeadLossResult;
  kdForwardBackward(args: object): LossResult;
  bf16PackedLength(N: number, K: number): number;
  packBf16(out: Uint16Array, w: F32, N: number, K: number): void;
  gemmBf16(c: F32, a: F32, packed: Uint16Array, M: number, N: number, K: number, packedN: number, beta: number): void;
  /** Returns immediately; used by the bench to measure N-API call overhead. */
  noop(a: F32): void;
  /** The codes of the C++ enums the loss ops take, by table (native/ops.h kEnumNames). */
  enumCodes(): Record<'teacherForms' | 'divergences' | 'tailModes', Record<string, number>>;
}

const here = dirname(fileURLToPath(import.meta.url));
let cached: { addon: NativeAddon | null; error: string | null } | null = null;

/** Path of the built addon: <repo>/build/Release/distill_native.node. */
export function nativeAddonPath(): string {
  // dist/src/engine/native -> repo root is four levels up; src/engine/native -> three.
  for (const up of ['../../../..', '../../..']) {
    const p = join(here, up, 'build', 'Release', 'distill_native.node');
    if (existsSync(p)) return p;
  }
  return join(here, '../../../..', 'build', 'Release', 'distill_native.node');
}

/** The raw addon, or null when it is not built or fails to load (see nativeLoadError). */
export function loadNativeAddon(): NativeAddon | null {
  if (cached) return cached.addon;
  const p = nativeAddonPath();
  if (!existsSync(p)) {
    cached = { addon: null, error: `addon not built (${p} missing)` };
    return null;
  }
  try {
    const require = createRequire(import.meta.url);
    cached = { addon: require(p) as NativeAddon, error: null };
  } catch (e) {
    cached = { addon: null, error: `addon at ${p} failed to load: ${(e as Error).message}` };
  }
  return cached.addon;
}

export function nativeLoadError(): string | null {
  loadNativeAddon();
  return cached?.error ?? null;
}

const ropeMode = (m: RopeMode): number => (m === 'interleaved' ? 0 : 1);

/** A teacher as native/loss-binding.cpp reads it: the same fields, kinds as the codes of
 *  loss-kinds.ts, a bf16 head as its data and row count (its layout checked here, where the
 *  layout name of this process's bf16 path is known). */
function wireTeacher(op: string, t: LossTeacher, bf16Layout: string, V: number): object {
  const kind = TEACHER_FORM_CODES[t.kind];
  if (kind === undefined) throw new RangeError(`${op}: unknown teacher kind '${(t as { kind: string }).kind}'`);
  switch (t.kind) {
    case 'sparse': {
      const tailMode = TAIL_MODE_CODES[t.tailMode];
      if (tailMode === undefined) throw new RangeError(`${op}: teacher.tailMode must be one of ${TAIL_MODES.map((m) => `'${m.name}'`).join(', ')}, got '${String(t.tailMode)}'`);
      return { ...t, kind, tailMode };
    }
    case 'hidden': {
      const w = t.weightBf16;
      if (w) {
        checkBf16Weight(op, bf16Layout, w, V);
        if (w.K !== t.C) throw new RangeError(`${op}: teacher.weightBf16 has K = ${w.K}, teacher.C is ${t.C}`);
      }
      return { kind, hidden: t.hidden, weight: t.weight, C: t.C, weightBf16: w?.data, weightBf16Rows: w?.N };
    }
    default: return { ...t, kind };
  }
}

/** The divergence as its code and parameter (β, λ or 0). */
function wireDivergence(op: string, d: Divergence): { divergence: number; divParam: number } {
  const e = divergenceEntry(d.kind);
  if (!e) throw new RangeError(`${op}: unknown divergence '${(d as { kind: string }).kind}'`);
  return { divergence: e.code, divParam: divergenceParam(d) };
}

/** A Backend over the addon, or null when it is unavailable. */
export function loadNativeBackend(): Backend | null {
  const a = loadNativeAddon();
  if (!a) return null;
  const info = a.info();
  /** The packed layout of this process's bf16 path (native/bf16.h): AMX tiles or row-major. */
  const bf16Layout = `native-${info.bf16}`;
  const backend: Backend = {
    name: 'native',
    isa: info.isa,
    threads: info.threads,
    setThreads(n) { a.setThreads(n); backend.threads = a.info().threads; },
    gemm: (c, x, y, M, N, K, tA, tB, alpha, beta) => a.gemm(c, x, y, M, N, K, tA ? 1 : 0, tB ? 1 : 0, alpha, beta),
    embeddingForward: a.embeddingForward,
    embeddingBackward: a.embeddingBackward,
    rmsnormForward: a.rmsnormForward,
    rmsnormBackward: a.rmsnormBackward,
    layernormForward: a.layernormForward,
    layernormBackward: a.layernormBackward,
    ropeForward: (out, inp, cos, sin, B, T, NH, HS, mode) => a.ropeForward(out, inp, cos, sin, B, T, NH, HS, ropeMode(mode)),
    ropeBackward: (dInp, dOut, cos, sin, B, T, NH, HS, mode) => a.ropeBackward(dInp, dOut, cos, sin, B, T, NH, HS, ropeMode(mode)),
    attentionForward: a.attentionForward,
    attentionBackward: a.attentionBackward,
    siluForward: a.siluForward,
    siluBackward: a.siluBackward,
    geluForward: a.geluForward,
    geluBackward: a.geluBackward,
    swigluForward: a.swigluForward,
    swigluBackward: a.swigluBackward,
    crossEntropyForward: a.crossEntropyForward,
    crossEntropyBackward: a.crossEntropyBackward,
    adamwStep: a.adamwStep,
    topkForward: a.topkForward,
    topkBackward: a.topkBackward,
    sampleRows: a.sampleRows,
    kdForwardBackward: (args) => a.kdForwardBackward({
      ...args, teacher: wireTeacher('kdForwardBackward', args.teacher, bf16Layout, args.V), ...wireDivergence('kdForwardBackward', args.divergence),
    }),
    headLossForwardBackward: (args) => a.headLossForwardBackward({
      ...args, teacher: wireTeacher('headLossForwardBackward', args.teacher, bf16Layout, args.V),
      ...wireDivergence('headLossForwardBackward', args.divergence),
    }),
    packBf16(w, N, K): Bf16Weight {
      const data = new Uint16Array(a.bf16PackedLength(N, K));
      a.packBf16(data, w, N, K);
      return { N, K, layout: bf16Layout, data };
    },
    gemmBf16(c, x, w, M, N, beta) {
      checkBf16Weight('gemmBf16', bf16Layout, w, N);
      a.gemmBf16(c, x, w.data, M, N, w.K, w.N, beta);
    },
  };
  return backend;
}
