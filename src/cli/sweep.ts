// `distill sweep SWEEP.yaml [--parallel N] [--fit] [--dry-run]`: expands the sweep, runs the
// unfinished cells (each an ordinary run folder), then writes summary.csv, summary.md and
// report.html beside them (and with --fit, the scaling-law fit). Printing only; the work is sweep/.
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRecipe } from '../recipe/load.js';
import { expandSweep, loadSweep } from '../sweep/spec.js';
import { runCells, type PlannedCell } from '../sweep/run-cells.js';
import { collectRows, gainMarkdown, rowsCsv, rowsMarkdown } from '../sweep/summary.js';
import { writeSweepReport } from '../sweep/sweep-report.js';
import { fitSweep, formatFit } from '../sweep/fit-sweep.js';

interface SweepCliOptions { parallel?: string; fit?: boolean; dryRun?: boolean; reportOnly?: boolean; bootstrap?: string; predict?: string }

function positiveInt(flag: string, s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: '${s}' is not a positive integer`);
  return n;
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description('run a grid or list of recipe overrides × seeds as run folders (resumable), then a summary table and HTML report')
    .argument('<sweep>', 'SWEEP.yaml: base, name, grid, list, seeds, parallel')
    .option('--parallel <n>', 'cells trained at once (overrides the file\'s parallel)')
    .option('--fit', 'fit L(N, D) = E + A/N^α + B/D^β for the CE and KD students and predict KD\'s gain')
    .option('--bootstrap <n>', 'bootstrap resamples for the fit\'s intervals', '200')
    .option('--predict <list>', 'extra sizes×tokens to predict at, e.g. 250000x2e6,500000x1e7')
    .option('--dry-run', 'list the cells and their overrides; run nothing')
    .option('--report-only', 'summarise (and --fit) the cells finished so far; run nothing (e.g. while the sweep runs)')
    .action(async (file: string, o: SweepCliOptions) => {
      const spec = loadSweep(file);
      const parallel = o.parallel ? positiveInt('--parallel', o.parallel) : spec.parallel;
      const base = loadRecipe(spec.base);
      const cells: PlannedCell[] = expandSweep(spec, file).map((c) => {
        const r = loadRecipe(spec.base, c.overrides);
        return { ...c, steps: r.train.steps, tokens: r.train.steps * r.train.batchSize * r.train.seqLen };
      });
      const sweepDir = join(spec.outDir, spec.name);
      if (o.dryRun) {
        for (const c of cells) console.log(`${c.name}: ${c.overrides.join(' ')}`);
        console.log(`${cells.length} cells, ${cells.reduce((s, c) => s + c.tokens, 0)} training tokens in all -> ${sweepDir}`);
        return;
      }
      const outcomes = o.reportOnly ? [] : await runCells(cells, {
        base: spec.base, sweepDir, parallel, cliPath: process.argv[1], baseSetsThreads: base.threads !== undefined,
        onProgress: (line) => console.error(line), inheritOutput: parallel === 1,
      });
      const rows = collectRows(sweepDir, cells, outcomes);
      writeFileSync(join(sweepDir, 'summary.csv'), rowsCsv(rows));
      const gains = gainMarkdown(rows);
      const md = rowsMarkdown(rows) + (gains ? `\nSeed means, CE vs KD:\n\n${gains}` : '');
      writeFileSync(join(sweepDir, 'summary.md'), md);
      console.log(md);
      const fit = o.fit ? fitSweep(rows, { bootstrap: positiveInt('--bootstrap', o.bootstrap ?? '200'), predictAt: o.predict }) : undefined;
      if (fit) {
        const text = formatFit(fit);
        writeFileSync(join(sweepDir, 'fit.json'), JSON.stringify(fit, null, 1) + '\n');
        writeFileSync(join(sweepDir, 'fit.md'), text + '\n');
        console.log(text);
      }
      const report = join(sweepDir, 'report.html');
      writeSweepReport(report, { title: `distill sweep ${spec.name}`, rows, fit, source: file });
      console.log(`summary: ${join(sweepDir, 'summary.csv')}, ${join(sweepDir, 'summary.md')}\nreport: ${report}`);
      const failed = outcomes.filter((x) => x.status === 'failed');
      if (failed.length > 0) {
        console.error(`sweep: ${failed.length} cell(s) failed: ${failed.map((x) => `${x.name} (${x.error})`).join('; ')}; run the sweep again to retry them`);
        process.exitCode = 1;
      }
    });
}
