// Runs a recipe file as `distill run` does: loaded once with its overrides (recipe/load.ts), then
// the orchestrator (train/run.ts runRecipe), and with `report` the run folder's report.html too
// (cli/run.ts runAndReport). For the tests that train; it asserts nothing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAndReport } from '../../src/cli/run.js';
import { isMachineDependent } from '../../src/monitor/metric-kinds.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { runRecipe, type RunOptions, type RunSummary } from '../../src/train/run.js';

export interface RecipeFileRun extends Omit<RunOptions, 'recipe' | 'source'> {
  recipePath: string;
  overrides?: string[];
  /** Also write the run folder's report.html, as `distill run` does after each run. */
  report?: boolean;
}

export function runRecipeFile({ recipePath, overrides = [], report = false, ...opts }: RecipeFileRun): Promise<RunSummary> {
  const run = { ...opts, recipe: loadRecipe(recipePath, overrides), source: [recipePath, ...overrides].join(' ') };
  return report ? runAndReport(run) : runRecipe(run);
}

/** A run's metrics.jsonl training lines without the values that measure the machine (times,
 *  memory, rates) or the clock: what two runs of one recipe must write alike. */
export function trainLines(runDir: string): Record<string, number>[] {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>).filter((m) => 'train/loss' in m)
    .map((m) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'wall_time' && !isMachineDependent(k))));
}
