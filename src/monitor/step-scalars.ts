// The always-on system scalars of a training log: memory (current and peak RSS, JS heap, typed
// array buffers, where parameters and activations live) and the step time split into its parts
// (teacher, forward, loss, backward, optimizer, ...) as milliseconds per step over the last log
// window, with tokens/s over the same time. It reads clocks the loop already keeps; it times nothing.

const MIB = 2 ** 20;

/** mem/*_mib: what process.memoryUsage() and the kernel's peak RSS say now (a few µs). */
export function memoryScalars(): Record<string, number> {
  const m = process.memoryUsage();
  return {
    'mem/rss_mib': m.rss / MIB,
    // resourceUsage().maxRSS is in KiB (getrusage ru_maxrss): the peak over the process's life
    'mem/peak_rss_mib': Math.max(m.rss, process.resourceUsage().maxRSS * 1024) / MIB,
    'mem/heap_used_mib': m.heapUsed / MIB,
    'mem/heap_total_mib': m.heapTotal / MIB,
    'mem/array_buffers_mib': m.arrayBuffers / MIB,
  };
}

/**
 * Turns cumulative seconds per part (the loop's and MicroStep's timers) into step_time/<part>_ms:
 * mean milliseconds per step since the previous call. `step` must be the wall time of whole
 * steps; the time no part accounts for (data, clipping, bookkeeping) is step_time/other_ms.
 */
export class StepTimes {
  private last: Record<string, number> = {};

  /** Per-step means over the `steps` steps and `tokens` tokens since the previous call. */
  scalars(totals: Readonly<Record<string, number>>, stepKey: string, steps: number, tokens: number): Record<string, number> {
    const out: Record<string, number> = {};
    const d = (k: string): number => (totals[k] ?? 0) - (this.last[k] ?? 0);
    const n = Math.max(1, steps);
    let parts = 0;
    for (const k of Object.keys(totals)) {
      if (k === stepKey) continue;
      out[`step_time/${k}_ms`] = (1000 * d(k)) / n;
      parts += d(k);
    }
    const step = d(stepKey);
    out['step_time/other_ms'] = (1000 * Math.max(0, step - parts)) / n;
    out['step_time/step_ms'] = (1000 * step) / n;
    out['train/tokens_per_sec'] = tokens / Math.max(1e-9, step);
    this.last = { ...totals };
    return out;
  }
}
