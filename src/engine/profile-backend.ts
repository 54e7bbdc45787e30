// A Backend that wraps any other and accumulates wall time and call counts per op (and per op
// group: gemm, attention, norms, ...), for `distill run --profile` and the step benchmarks.
// It changes no result: every call is forwarded unchanged. It does not write files or print.
import type { Backend } from './backend.js';

/** Op groups of the profile table, in display order. */
export const OP_GROUPS = ['gemm', 'attention', 'norms', 'activations', 'rope', 'embedding', 'loss', 'optimizer', 'topk', 'other'] as const;
export type OpGroup = typeof OP_GROUPS[number];

/** The group of a Backend method name; ops added to the interface later fall into a group by
 *  name pattern (a fused head+loss kernel counts as loss), else 'other'. */
export function opGroup(op: string): OpGroup {
  if (op === 'gemm' || /^gemm/i.test(op)) return 'gemm';
  if (/attention/i.test(op)) return 'attention';
  if (/norm/i.test(op)) return 'norms';
  if (/^(silu|gelu|swiglu)/i.test(op)) return 'activations';
  if (/^rope/i.test(op)) return 'rope';
  if (/^embedding/i.test(op)) return 'embedding';
  if (/loss|crossentropy|kd|softmax/i.test(op)) return 'loss';
  if (/adam|optim/i.test(op)) return 'optimizer';
  if (/^topk/i.test(op)) return 'topk';
  return 'other';
}

export interface OpStat { seconds: number; calls: number }

export interface ProfileReport {
  /** Seconds from the wrapper's creation (or last reset) to the report. */
  wallSeconds: number;
  /** Seconds inside backend ops, all groups together. */
  opSeconds: number;
  /** Per group, in OP_GROUPS order; groups never called are left out. */
  groups: Array<{ group: OpGroup; seconds: number; calls: number; percentOfWall: number }>;
  /** Per Backend method name (e.g. attentionBackward), sorted by time, descending. */
  ops: Array<{ op: string; group: OpGroup; seconds: number; calls: number }>;
  backend: { name: string; isa: string; threads: number };
}

export interface ProfiledBackend extends Backend {
  /** The totals so far. */
  profile(): ProfileReport;
  /** Zeroes every counter and restarts the wall clock. */
  resetProfile(): void;
  /** The wrapped backend. */
  readonly inner: Backend;
}

/** Keys that are data or the wrapper's own (wrapping a wrapper times its ops once more), not ops. */
const NOT_OPS = new Set(['name', 'isa', 'threads', 'setThreads', 'profile', 'resetProfile', 'inner']);

/**
 * Wraps `inner`: every function-valued key except setThreads becomes a timed forwarder (own and
 * prototype keys, so class-based backends work too). The timer is performance.now() around the
 * call; native ops are synchronous, so that is their full cost including N-API marshalling.
 */
export function profileBackend(inner: Backend): ProfiledBackend {
  const stats = new Map<string, OpStat>();
  let started = performance.now();
  const names = new Set<string>();
  for (let o: object | null = inner; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) names.add(k);
  }
  const wrapper: Record<string, unknown> = {
    get name() { return inner.name; },
    get isa() { return inner.isa; },
    get threads() { return inner.threads; },
    setThreads(n: number) { inner.setThreads(n); },
    inner,
    profile(): ProfileReport {
      const wallSeconds = (performance.now() - started) / 1000;
      const byGroup = new Map<OpGroup, OpStat>();
      const ops: ProfileReport['ops'] = [];
      let opSeconds = 0;
      for (const [op, s] of stats) {
        if (s.calls === 0) continue;
        const group = opGroup(op);
        const g = byGroup.get(group) ?? { seconds: 0, calls: 0 };
        g.seconds += s.seconds; g.calls += s.calls;
        byGroup.set(group, g);
        opSeconds += s.seconds;
        ops.push({ op, group, seconds: s.seconds, calls: s.calls });
      }
      ops.sort((a, b) => b.seconds - a.seconds);
      const groups = OP_GROUPS.filter((g) => byGroup.has(g)).map((group) => {
        const g = byGroup.get(group)!;
        return { group, seconds: g.seconds, calls: g.calls, percentOfWall: wallSeconds > 0 ? (100 * g.seconds) / wallSeconds : 0 };
      });
      return { wallSeconds, opSeconds, groups, ops, backend: { name: inner.name, isa: inner.isa, threads: inner.threads } };
    },
    resetProfile() {
      for (const s of stats.values()) { s.seconds = 0; s.calls = 0; }
      started = performance.now();
    },
  };
  for (const k of names) {
    if (NOT_OPS.has(k) || k === 'constructor') continue;
    const fn = (inner as unknown as Record<string, unknown>)[k];
    if (typeof fn !== 'function') continue;
    const stat: OpStat = { seconds: 0, calls: 0 };
    stats.set(k, stat);
    const f = fn as (...args: unknown[]) => unknown;
    wrapper[k] = (...args: unknown[]): unknown => {
      const t0 = performance.now();
      try {
        return f.apply(inner, args);
      } finally {
        stat.seconds += (performance.now() - t0) / 1000;
        stat.calls++;
      }
    };
  }
  return wrapper as unknown as ProfiledBackend;
}

/** The profile as a fixed-width table: one row per group, then time outside ops, then total. */
export function formatProfileTable(p: ProfileReport): string {
  const rows: string[][] = [['op group', 'time s', '% of wall', 'calls', 'ms/call']];
  for (const g of p.groups) {
    rows.push([g.group, g.seconds.toFixed(3), g.percentOfWall.toFixed(1), String(g.calls), ((1000 * g.seconds) / g.calls).toFixed(3)]);
  }
  const outside = Math.max(0, p.wallSeconds - p.opSeconds);
  const pct = (s: number) => (p.wallSeconds > 0 ? ((100 * s) / p.wallSeconds).toFixed(1) : '0.0');
  rows.push(['outside ops (JS)', outside.toFixed(3), pct(outside), '', '']);
  rows.push(['total (wall)', p.wallSeconds.toFixed(3), '100.0', '', '']);
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(w[c]) : cell.padStart(w[c]))).join('  '));
  lines.splice(1, 0, w.map((n) => '-'.repeat(n)).join('  '));
  lines.splice(lines.length - 2, 0, w.map((n) => '-'.repeat(n)).join('  '));
  return `profile (${p.backend.name}/${p.backend.isa}, ${p.backend.threads} threads)\n${lines.join('\n')}`;
}

/** Flat scalars for a metrics log / TensorBoard: profile/<group>_s, profile/<group>_pct and profile/op/<op>_s. */
export function profileScalars(p: ProfileReport): Record<string, number> {
  const out: Record<string, number> = { 'profile/wall_s': p.wallSeconds, 'profile/ops_s': p.opSeconds };
  for (const g of p.groups) {
    out[`profile/${g.group}_s`] = g.seconds;
    out[`profile/${g.group}_pct`] = g.percentOfWall;
  }
  out['profile/outside_ops_s'] = Math.max(0, p.wallSeconds - p.opSeconds);
  for (const o of p.ops) out[`profile/op/${o.op}_s`] = o.seconds; // the per-op detail, for TensorBoard
  return out;
}
