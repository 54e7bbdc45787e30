// `distill tune` as a library call: ASHA (asha.ts) over a search space (tune-space.ts), each job an
// ordinary run folder trained from scratch for its rung's steps (run-cells.ts runCell; finished
// jobs are not rerun, so an interrupted tune resumes), until the step budget is spent; then the
// best configuration as a recipe file. It prints only through onProgress and draws no page.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { Rng } from '../engine/rng.js';
import { applyOverrides, loadRecipe } from '../recipe/load.js';
import { formatDuration } from '../monitor/progress.js';
import { Asha, ashaRungs, type AshaJob } from './asha.js';
import { cellFinished, runCell } from './run-cells.js';
import { configOverrides, sampleConfig, type Config, type Space } from './tune-space.js';

export interface TuneOptions {
  recipePath: string;
  space: Space;
  /** Training steps over all jobs (a promoted trial reruns from scratch: each rung counts). */
  budget: number;
  eta: number;
  minSteps: number;
  /** The top rung's length (default: the recipe's train.steps). */
  maxSteps: number;
  seed: number;
  /** <outDir>/<name>: jobs are its sub-folders. */
  tuneDir: string;
  name: string;
  cliPath: string;
  onProgress: (line: string) => void;
  inheritOutput: boolean;
}

export interface TrialResult { trial: number; rung: number; steps: number; config: Config; name: string; valLoss: number; status: 'done' | 'skipped' | 'failed'; seconds: number }

export interface TuneResult { rungs: number[]; jobs: TrialResult[]; best?: TrialResult; bestRecipe?: string; stepsSpent: number }

function readValLoss(dir: string): number {
  try {
    return (JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8')) as { student: { valLoss: number } }).student.valLoss;
  } catch {
    return NaN;
  }
}

export async function runTune(o: TuneOptions): Promise<TuneResult> {
  const base = loadRecipe(o.recipePath);
  const baseAlpha = typeof base.loss.alpha === 'number' ? base.loss.alpha : 0.5;
  const rungs = ashaRungs(o.minSteps, o.maxSteps, o.eta);
  const asha = new Asha(rungs, o.eta);
  const rng = new Rng(o.seed);
  const configs: Config[] = [];
  const jobs: TrialResult[] = [];
  let spent = 0;
  const started = Date.now();
  const overridesOf = (c: Config, steps: number): string[] => configOverrides(c, steps, baseAlpha).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  for (;;) {
    const job: AshaJob = asha.nextJob();
    if (spent + job.steps > o.budget) break;
    if (!job.promotion) configs[job.trial] = sampleConfig(o.space, rng);
    const config = configs[job.trial];
    const name = `${o.name}-t${job.trial}-r${job.rung}`;
    const cell = { name, point: config, seed: base.seed, overrides: [...overridesOf(config, job.steps), `name=${name}`, `outDir=${JSON.stringify(o.tuneDir)}`] };
    const skip = cellFinished(o.tuneDir, cell);
    const outcome = skip ? { status: 'skipped' as const, seconds: 0 } : await runCell(cell, { base: o.recipePath, sweepDir: o.tuneDir, cliPath: o.cliPath, inheritOutput: o.inheritOutput });
    const valLoss = outcome.status === 'failed' ? NaN : readValLoss(join(o.tuneDir, name));
    asha.report(job, valLoss);
    spent += job.steps;
    jobs.push({ trial: job.trial, rung: job.rung, steps: job.steps, config, name, valLoss, status: outcome.status, seconds: outcome.seconds });
    const elapsed = (Date.now() - started) / 1000;
    o.onProgress(`tune: trial ${job.trial} rung ${job.rung} (${job.steps} steps${job.promotion ? ', promoted' : ''}) ${outcome.status === 'failed' ? 'FAILED' : `val loss ${valLoss.toFixed(4)}`}${skip ? ' (already run)' : ''} · ${Object.entries(config).map(([k, v]) => `${k}=${v}`).join(' ')} · budget ${spent}/${o.budget} steps, elapsed ${formatDuration(elapsed)}, ETA ${formatDuration(spent > 0 ? elapsed * (o.budget - spent) / spent : NaN)}`);
  }
  const b = asha.best();
  const best = b ? jobs.find((j) => j.trial === b.trial && j.rung === b.rung) : undefined;
  let bestRecipe: string | undefined;
  if (best) {
    // The recipe file as written, with the best configuration at the full length applied.
    const tree = applyOverrides(parse(readFileSync(o.recipePath, 'utf8')) as Record<string, unknown>, [...overridesOf(best.config, o.maxSteps), `name=${base.name}-tuned`]);
    bestRecipe = join(o.tuneDir, 'best.yaml');
    writeFileSync(bestRecipe, `# npx distill run ${bestRecipe}\n# Written by distill tune ${o.recipePath}: trial ${best.trial} (val loss ${best.valLoss.toFixed(4)} at ${best.steps} steps, rung ${best.rung} of ${rungs.length - 1}), ${Object.entries(best.config).map(([k, v]) => `${k}=${v}`).join(', ')}.\n${stringify(tree)}`);
  }
  return { rungs, jobs, best, bestRecipe, stepsSpent: spent };
}
