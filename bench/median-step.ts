// The timing rule every bench worker follows: `warmup` untimed calls, then the median wall time
// of `steps` timed ones, in seconds. It knows no workload.

/** Median seconds of `steps` calls of `step` after `warmup` untimed ones; `afterWarmup` runs in between (e.g. a profile reset). */
export async function medianStepSeconds(step: () => void | Promise<void>, warmup: number, steps: number, afterWarmup?: () => void): Promise<number> {
  for (let i = 0; i < warmup; i++) await step();
  afterWarmup?.();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await step();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
