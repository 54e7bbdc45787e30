// The files of a run folder (runs/<name>/) that are not the loop's: the check that a folder is
// free (or is being resumed or overwritten), recipe.resolved.yaml, environment.json, run.json at
// the start, eval.json and profile.json at the end. Writing only; no training, no report (cli/
// writes that).
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../engine/backend.js';
import { nativeCompiler } from '../engine/select.js';
import { resolvedRecipeYaml } from '../recipe/load.js';
import type { Recipe } from '../recipe/schema.js';
import { RunError } from './errors.js';

/** The files of an earlier run that --overwrite removes (checkpoints, logs, results). */
const RUN_OUTPUTS = ['checkpoints', 'metrics.jsonl', 'samples.jsonl', 'eval.json', 'report.html', 'profile.json'];

/** runs/<name>/, refused when it holds an earlier run and neither resume nor overwrite is given.
 *  Touches nothing. */
export function checkRunFolder(recipe: Recipe, o: { resume: boolean; overwrite: boolean }): string {
  const runDir = join(recipe.outDir, recipe.name);
  if (existsSync(runDir) && readdirSync(runDir).length > 0 && !o.resume && !o.overwrite) {
    throw new RunError(`run folder ${runDir} already exists; pass --resume to continue it, --overwrite to replace it, or choose another name (name=...)`);
  }
  return runDir;
}

/** Creates runs/<name>/ for a new run (checkRunFolder first); overwrite without resume clears the
 *  earlier run's outputs. Returns its path. */
export function openRunFolder(recipe: Recipe, o: { resume: boolean; overwrite: boolean }): string {
  const runDir = checkRunFolder(recipe, o);
  mkdirSync(runDir, { recursive: true });
  if (o.overwrite && !o.resume) {
    for (const f of readdirSync(runDir)) {
      if (f.startsWith('events.out.tfevents') || RUN_OUTPUTS.includes(f)) rmSync(join(runDir, f), { recursive: true, force: true });
    }
  }
  return runDir;
}

/** Versions, machine, backend and seed: what reproducing the run needs to know. */
function environment(be: Backend, recipe: Recipe, version: string): Record<string, unknown> {
  return {
    distill: version,
    node: process.versions.node,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    host: hostname(),
    backend: be.name,
    isa: be.isa,
    threads: be.threads,
    compiler: nativeCompiler(),
    seed: recipe.seed,
    startedAt: new Date().toISOString(),
  };
}

/** recipe.resolved.yaml (headed by where it came from), environment.json and run.json. */
export function writeRunStart(runDir: string, recipe: Recipe, o: { source: string; be: Backend; version: string; kind: 'kd' | 'baseline'; teacher?: string }): void {
  writeFileSync(join(runDir, 'recipe.resolved.yaml'), `# resolved from ${o.source}\n${resolvedRecipeYaml(recipe)}`);
  writeFileSync(join(runDir, 'environment.json'), JSON.stringify(environment(o.be, recipe, o.version), null, 1) + '\n');
  writeFileSync(join(runDir, 'run.json'), JSON.stringify({
    name: recipe.name, seed: recipe.seed, kind: o.kind, variant: o.kind === 'kd' ? recipe.loss.kd.kind : undefined, teacher: o.teacher,
  }) + '\n');
}

/** A result file of the run folder (eval.json, profile.json, shrink.json) as indented JSON. */
export function writeRunJson(runDir: string, file: 'eval.json' | 'profile.json' | 'shrink.json', value: unknown): void {
  writeFileSync(join(runDir, file), JSON.stringify(value, null, 1) + '\n');
}
