// Asynchronous successive halving (ASHA, Li et al. 2020, algorithm 2) as a pure scheduler: rungs of
// steps growing by η up to the full length, and the job rule — promote the best not-yet-promoted
// trial in the top 1/η of the highest rung that has one, else start a new trial at the bottom rung.
// It runs nothing and keeps no clock; the caller runs the jobs and reports their losses.
import { SweepError } from './errors.js';

export interface AshaJob { trial: number; rung: number; steps: number; promotion: boolean }

/** The rungs' lengths: maxSteps / η^k for k = K..0, the smallest at least minSteps. */
export function ashaRungs(minSteps: number, maxSteps: number, eta: number): number[] {
  if (!(eta >= 2)) throw new SweepError(`--eta must be >= 2, got ${eta}`);
  if (!(Number.isInteger(minSteps) && minSteps >= 1 && maxSteps >= minSteps)) throw new SweepError(`--min-steps must be an integer in [1, max steps ${maxSteps}], got ${minSteps}`);
  const K = Math.floor(Math.log(maxSteps / minSteps) / Math.log(eta) + 1e-9);
  return Array.from({ length: K + 1 }, (_, k) => Math.round(maxSteps / eta ** (K - k)));
}

export class Asha {
  readonly rungs: number[];
  private readonly eta: number;
  /** Per rung: the trials reported there and their losses (Infinity: failed). */
  private readonly results: { trial: number; loss: number }[][];
  private readonly promoted: Set<string> = new Set();
  private trials = 0;

  constructor(rungs: number[], eta: number) {
    this.rungs = rungs;
    this.eta = eta;
    this.results = rungs.map(() => []);
  }

  /** The next job: a promotion when one is due, else a new trial (numbered from 0). */
  nextJob(): AshaJob {
    for (let k = this.rungs.length - 2; k >= 0; k--) {
      const ranked = [...this.results[k]].sort((a, b) => a.loss - b.loss);
      const top = ranked.slice(0, Math.floor(ranked.length / this.eta)).filter((r) => Number.isFinite(r.loss));
      const next = top.find((r) => !this.promoted.has(`${r.trial}@${k}`));
      if (next) {
        this.promoted.add(`${next.trial}@${k}`);
        return { trial: next.trial, rung: k + 1, steps: this.rungs[k + 1], promotion: true };
      }
    }
    return { trial: this.trials++, rung: 0, steps: this.rungs[0], promotion: false };
  }

  /** Records a job's val loss (Infinity or NaN for a failed run: never promoted). */
  report(job: AshaJob, loss: number): void {
    this.results[job.rung].push({ trial: job.trial, loss: Number.isFinite(loss) ? loss : Infinity });
  }

  /** The best (trial, loss) at the highest rung that has a finite result, or undefined. */
  best(): { trial: number; rung: number; loss: number } | undefined {
    for (let k = this.rungs.length - 1; k >= 0; k--) {
      const r = this.results[k].filter((x) => Number.isFinite(x.loss)).sort((a, b) => a.loss - b.loss)[0];
      if (r) return { ...r, rung: k };
    }
    return undefined;
  }
}
