// `distill run RECIPE... [key.path=value ...]`: loads each recipe once, trains it (optionally
// over several seeds) and writes each run folder's report, then prints the comparison table
// (teacher, each student, KD − baseline paired by seed) and writes one HTML report over all the
// runs; --profile adds a per-op-group time table. Printing and reports only; the work is train/.
import type { Command } from 'commander';
import { join } from 'node:path';
import { lastValue, loadRun } from '../report/run-files.js';
import { formatDuration, formatRate } from '../monitor/progress.js';
import { compareKdBaseline } from '../report/compare.js';
import { writeReport } from '../report/report.js';
import { runRecipe, type RunOptions, type RunSummary } from '../train/run.js';
import { loadRecipe } from '../recipe/load.js';
import type { Recipe } from '../recipe/schema.js';
import { formatProfileTable } from '../engine/profile-backend.js';

interface RunCliOptions { resume?: boolean; overwrite?: boolean; seeds?: string; report?: string; profile?: boolean }

const f = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

export function comparisonTable(runs: RunSummary[]): string {
  const rows: string[][] = [['run', 'kind', 'seed', 'val loss', 'ppl', 'KL→teacher', 'top-1 agree', 'params', 'train tok/s', 'time s']];
  const teacher = runs.find((r) => r.teacher)?.teacher;
  if (teacher) rows.push(['teacher', '', '', f(teacher.valLoss), f(Math.exp(teacher.valLoss), 2), '', '', String(teacher.params), '', '']);
  for (const r of runs) {
    rows.push([r.name, r.kind, String(r.seed), f(r.student.valLoss), f(Math.exp(r.student.valLoss), 2), f(r.student.klToTeacher),
      f(r.student.top1Agreement), String(r.student.params), r.tokensPerSec.toFixed(0), r.seconds.toFixed(1)]);
  }
  const w = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const lines = rows.map((row) => row.map((cell, c) => (c === 0 || c === 1 ? cell.padEnd(w[c]) : cell.padStart(w[c]))).join('  '));
  lines.splice(1, 0, w.map((n) => '-'.repeat(n)).join('  '));
  const comps = compareKdBaseline(runs.map((r) => loadRun(r.runDir)));
  for (const c of comps) {
    if (c.n === 0) continue;
    const spread = Number.isFinite(c.sdDiff) ? ` ± ${c.sdDiff.toFixed(3)} (sd)` : '';
    lines.push('', `KD (${c.variant}) − baseline, paired by seed: ${c.pairs.map((p) => `seed ${p.seed}: ${p.diff >= 0 ? '+' : ''}${p.diff.toFixed(3)}`).join(', ')}`);
    lines.push(`mean gap ${c.meanDiff >= 0 ? '+' : ''}${c.meanDiff.toFixed(3)}${spread}; KD lower in ${c.kdWins} of ${c.n}`);
  }
  return lines.join('\n');
}

/** The one line printed when a run ends: what it did, how fast, what it reached, where it is. */
export function runLine(s: RunSummary): string {
  const m = loadRun(s.runDir);
  const pct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${(100 * v).toFixed(1)}%`);
  const peak = lastValue(m, 'mem/peak_rss_mib');
  const parts = [
    `${s.name} (${s.kind}, seed ${s.seed}): ${s.loop.state.step} steps in ${formatDuration(s.seconds)}, ${formatRate(s.tokensPerSec)} tok/s${peak === undefined ? '' : `, peak RSS ${peak.toFixed(0)} MiB`}`,
    `val loss ${f(s.student.valLoss)} (ppl ${f(Math.exp(s.student.valLoss), 2)})` +
      (s.student.klToTeacher === null ? '' : `, KL→teacher ${f(s.student.klToTeacher)}, top-1 agree ${pct(s.student.top1Agreement)}`),
  ];
  const d2 = lastValue(m, 'diversity/distinct_2'), rep = lastValue(m, 'diversity/repetition_4');
  if (d2 !== undefined) parts.push(`samples distinct-2 ${pct(d2)}, repetition ${pct(rep)}`);
  return `${parts.join(' | ')} -> ${s.runDir}`;
}

/** One run as `distill run` makes it: trained, then its folder's report.html written. */
export async function runAndReport(opts: RunOptions): Promise<RunSummary> {
  const s = await runRecipe(opts);
  writeReport([s.runDir], join(s.runDir, 'report.html'));
  return s;
}

/** The recipe of one seed of a --seeds run: that seed, named <name>-s<seed>. */
function withSeed(r: Recipe, seed: number): Recipe {
  return { ...r, seed, name: `${r.name}-s${seed}` };
}

export function registerRun(program: Command, version: string): void {
  program
    .command('run')
    .description('train students from recipes; extra key.path=value arguments override recipe fields')
    .argument('<args...>', 'recipe files (.yaml), then optional key.path=value overrides')
    .option('--resume', 'continue each run from its newest checkpoint')
    .option('--overwrite', 'replace the outputs of an earlier run of the same name')
    .option('--seeds <list>', 'run each recipe once per seed (comma-separated), named <name>-s<seed>')
    .option('--report <file>', 'write one HTML report over all runs here')
    .option('--profile', 'time every engine op over the training loop; prints a table per op group, writes <run>/profile.json and profile/* TensorBoard scalars')
    .action(async (args: string[], o: RunCliOptions) => {
      const recipes = args.filter((a) => !a.includes('='));
      const overrides = args.filter((a) => a.includes('='));
      if (recipes.length === 0) throw new Error('run: name at least one recipe file');
      const seeds = o.seeds ? o.seeds.split(',').map((s) => {
        const n = Number(s);
        if (!Number.isInteger(n) || n < 0) throw new Error(`--seeds: '${s}' is not a non-negative integer`);
        return n;
      }) : [null];
      const loaded = recipes.map((path) => ({ path, recipe: loadRecipe(path, overrides) }));
      const summaries: RunSummary[] = [];
      for (const seed of seeds) {
        for (const { path, recipe } of loaded) {
          const source = [path, ...(overrides.length ? ['with', ...overrides] : []), ...(seed === null ? [] : [`(seed ${seed})`])].join(' ');
          const s = await runAndReport({
            recipe: seed === null ? recipe : withSeed(recipe, seed), source, resume: o.resume, overwrite: o.overwrite, version, profile: o.profile, stream: process.stderr,
          });
          console.log(runLine(s));
          if (s.profile) console.log(`${formatProfileTable(s.profile)}\n(written to ${join(s.runDir, 'profile.json')})\n`);
          summaries.push(s);
        }
      }
      console.log('');
      console.log(comparisonTable(summaries));
      // one run: its folder's report is the report; several (or --report): one over them all
      const report = o.report ?? (summaries.length > 1 ? join(summaries[0].runDir, '..', 'report.html') : join(summaries[0].runDir, 'report.html'));
      if (o.report || summaries.length > 1) writeReport(summaries.map((s) => s.runDir), report);
      console.log(`\nreport: ${report}`);
    });
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write one self-contained HTML report (curves, eval table, KD vs baseline, samples) over run folders')
    .argument('<runDirs...>', 'run folders (runs/<name>)')
    .option('-o, --out <file>', 'output HTML file', 'report.html')
    .option('--log-y', 'log-scale loss axes')
    .option('--linear-y', 'linear loss axes')
    .action((dirs: string[], o: { out: string; logY?: boolean; linearY?: boolean }) => {
      writeReport(dirs, o.out, { logY: o.logY ? true : o.linearY ? false : 'auto' });
      console.log(`report: ${o.out}`);
    });
}
