// `distill tune RECIPE.yaml --params T,alpha --budget N`: ASHA over the named recipe keys (spaces
// from --space or the defaults), each job a run folder under <outDir>/<name>-tune/; writes the best
// recipe, trials.json and report.html there. Printing only; the work is sweep/tune.ts.
import type { Command } from 'commander';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { loadRecipe } from '../recipe/load.js';
import { runTune } from '../sweep/tune.js';
import { loadSpace, spaceFor } from '../sweep/tune-space.js';
import { buildTuneReportHtml } from '../sweep/tune-report.js';
import { writePage } from '../sweep/sweep-report.js';

interface TuneCliOptions { params: string; budget: string; space?: string; eta: string; minSteps?: string; maxSteps?: string; seed: string; name?: string }

function num(flag: string, s: string, int: boolean): number {
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0 || (int && !Number.isInteger(n))) throw new Error(`${flag}: '${s}' is not a positive ${int ? 'integer' : 'number'}`);
  return n;
}

export function registerTune(program: Command): void {
  program
    .command('tune')
    .description('tune recipe keys (T, alpha, alphaSchedule, lr or any key.path) by asynchronous successive halving; writes the best recipe')
    .argument('<recipe>', 'the recipe to tune (its train.steps is the longest trial unless --max-steps)')
    .requiredOption('--params <list>', 'comma-separated: T, alpha, alphaSchedule (constant|linear|wsd), lr, or recipe key paths')
    .requiredOption('--budget <steps>', 'training steps over all trials (a promoted trial reruns from scratch, so each rung counts)')
    .option('--space <file>', 'YAML: key -> {min, max, log} or {choices: [...]} (defaults: T 0.5-8 log, alpha 0-1, lr 1e-3-2e-2 log)')
    .option('--eta <n>', 'keep the best 1/eta of each rung', '3')
    .option('--min-steps <n>', 'the bottom rung\'s steps (default: max steps / eta^2, i.e. three rungs)')
    .option('--max-steps <n>', 'the top rung\'s steps (default: the recipe\'s train.steps)')
    .option('--seed <n>', 'seed of the configuration sampler', '0')
    .option('--name <name>', 'tune folder name under the recipe\'s outDir (default <recipe name>-tune)')
    .action(async (recipePath: string, o: TuneCliOptions) => {
      const recipe = loadRecipe(recipePath);
      const params = o.params.split(',').map((s) => s.trim()).filter(Boolean);
      const space = spaceFor(params, o.space ? loadSpace(o.space) : {});
      const eta = num('--eta', o.eta, false);
      const maxSteps = o.maxSteps ? num('--max-steps', o.maxSteps, true) : recipe.train.steps;
      const minSteps = o.minSteps ? num('--min-steps', o.minSteps, true) : Math.max(1, Math.round(maxSteps / eta ** 2));
      const name = o.name ?? `${recipe.name}-tune`;
      const tuneDir = join(recipe.outDir, name);
      const budget = num('--budget', o.budget, true);
      const seed = Number(o.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed: '${o.seed}' is not a non-negative integer`);
      const r = await runTune({
        recipePath, space, budget, eta, minSteps, maxSteps, seed, tuneDir, name, cliPath: process.argv[1], onProgress: (l) => console.error(l), inheritOutput: false,
      });
      writeFileSync(join(tuneDir, 'trials.json'), JSON.stringify(r, null, 1) + '\n');
      const report = join(tuneDir, 'report.html');
      writePage(report, buildTuneReportHtml(r, { title: `distill tune ${recipe.name}: ${params.join(', ')}`, source: recipePath, budget, eta }));
      if (!r.best) {
        console.error(`tune: no trial finished (budget ${budget} steps, smallest rung ${r.rungs[0]}); see ${join(tuneDir, 'logs')}`);
        process.exitCode = 1;
        return;
      }
      console.log(`best: trial ${r.best.trial}, val loss ${r.best.valLoss.toFixed(4)} at ${r.best.steps} steps: ${Object.entries(r.best.config).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      console.log(`recipe: ${r.bestRecipe}\ntrials: ${join(tuneDir, 'trials.json')}\nreport: ${report}`);
    });
}
