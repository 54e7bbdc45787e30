// `distill sweep` and `distill tune` end to end (spawning dist/src/cli/main.js, whose cells spawn
// `distill run`): a 2 × 2 grid on the real TinyStories text and stories260K teacher, its summary
// and report; a second call reruns nothing, a cell whose marker is gone is rerun alone; bad sweep
// files are one error naming the key or cell; tune writes a best recipe that loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadRecipe } from '../src/recipe/load.js';
import { tinyRecipes } from './helpers/tiny-recipe.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..'); // dist/test -> repo root
const MAIN = join(root, 'dist', 'src', 'cli', 'main.js');

function distill(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tiny = tinyRecipes('distill-sweep-', { paragraphs: 200, seed: 1, train: '{steps: 4, batchSize: 2, seqLen: 32, checkpointEvery: 0}', eval: '{every: 0, maxWindows: 2}' });
const base = tiny.recipe('base');

function sweepFile(name: string, body: string): string {
  const p = join(tiny.dir, `${name}.sweep.yaml`);
  writeFileSync(p, `base: ${base}\nname: ${name}\noutDir: ${join(tiny.dir, 'runs')}\n${body}`);
  return p;
}

test('distill sweep: grid × seeds as run folders, summary and report; resumable', () => {
  const f = sweepFile('grid', 'seeds: [3]\ngrid:\n  student: [{dim: 16}, {dim: 24, hiddenDim: 48}]\n  loss.alpha: [1, 0.5]\nlabels:\n  loss.alpha: [ce, kd]\n');
  const r = distill(['sweep', f]);
  assert.equal(r.code, 0, r.stderr);
  const dir = join(tiny.dir, 'runs', 'grid');
  const csv = readFileSync(join(dir, 'summary.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'name,student,loss.alpha,seed,kind,params,tokens,valLoss,klToTeacher,top1Agreement,teacherValLoss,seconds,status');
  assert.equal(csv.length, 5);
  const names = csv.slice(1).map((l) => l.split(',')[0]);
  assert.deepEqual(names, ['grid-studentdim16_ce-s3', 'grid-studentdim16_kd-s3', 'grid-studentdim24-hiddenDim48_ce-s3', 'grid-studentdim24-hiddenDim48_kd-s3']);
  for (const l of csv.slice(1)) {
    const c = l.split(',');
    assert.equal(c[12], 'done');
    assert.equal(c[4], c[2] === '1' ? 'baseline' : 'kd');
    assert.equal(c[6], String(4 * 2 * 32)); // steps × batch × seqLen
    assert.ok(Number(c[7]) > 0);
  }
  // each cell is an ordinary run folder with the override applied
  assert.match(readFileSync(join(dir, names[3], 'recipe.resolved.yaml'), 'utf8'), /dim: 24\n[^]*hiddenDim: 48/);
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /<svg[^]*val loss vs training tokens[^]*KD gain/);
  assert.match(r.stderr, /sweep: 4\/4 cells done/);
  // again: nothing reruns; a cell whose marker is gone reruns alone
  const before = statSync(join(dir, names[0], 'eval.json')).mtimeMs;
  const again = distill(['sweep', f]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /4 of 4 cells already finished/);
  assert.equal(statSync(join(dir, names[0], 'eval.json')).mtimeMs, before);
  rmSync(join(dir, names[1], 'sweep-cell.json'));
  const third = distill(['sweep', f]);
  assert.match(third.stderr, /3 of 4 cells already finished/);
  assert.match(third.stderr, new RegExp(`cell ${names[1]} finished`));
  assert.doesNotMatch(third.stderr, new RegExp(`cell ${names[0]} (started|finished)`));
  // --fit with one size per kind and one budget cannot fit, and says why
  const fit = distill(['sweep', f, '--fit']);
  assert.equal(fit.code, 1);
  assert.match(fit.stderr, /--fit \(CE students\): scaling fit: needs at least 5 runs/);
});

test('distill sweep --parallel 2: two cells at once, logs per cell; --dry-run lists the cells', () => {
  const f = sweepFile('par', 'seeds: [1, 2]\nlist:\n  - {loss.temperature: 2}\n');
  const dry = distill(['sweep', f, '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /par-temperature2-s1: loss.temperature=2 seed=1 name=par-temperature2-s1/);
  assert.match(dry.stdout, /2 cells, 512 training tokens/);
  const r = distill(['sweep', f, '--parallel', '2']);
  assert.equal(r.code, 0, r.stderr);
  for (const s of [1, 2]) assert.ok(existsSync(join(tiny.dir, 'runs', 'par', 'logs', `par-temperature2-s${s}.log`)));
  const threads = (JSON.parse(readFileSync(join(tiny.dir, 'runs', 'par', 'par-temperature2-s2', 'environment.json'), 'utf8')) as { threads: number }).threads;
  assert.equal(threads, Math.max(1, Math.floor(cpus().length / 2))); // cores / parallel each
});

test('bad sweep files: one error naming the key or the cell, exit 1', () => {
  const cases: [string, RegExp][] = [
    ['grid: {train.steps: [2]}\nbogus: 1\n', /unknown key 'bogus'/],
    ['grid: {student.dim: [16, -4]}\n', /cell bad-dim-4-s1: [^]*key 'student.dim'/],
    ['grid: {train.steps: [2, 3]}\nlabels: {train.steps: [a]}\n', /labels.train.steps: 1 labels for 2 values/],
    ['grid: {train.steps: [2]}\nlist: [{}, {}]\n', /two cells are both named/],
  ];
  for (const [body, want] of cases) {
    const r = distill(['sweep', sweepFile('bad', body)]);
    assert.equal(r.code, 1, body);
    assert.match(r.stderr, want);
  }
});

test('distill tune: ASHA within the budget, a best recipe that loads, trials in the report', () => {
  const rec = tiny.recipe('tunable', '');
  const r = distill(['tune', rec, '--params', 'T,alpha,alphaSchedule', '--budget', '20', '--max-steps', '4', '--eta', '2', '--seed', '5']);
  assert.equal(r.code, 0, r.stderr);
  const dir = join(tiny.dir, 'runs', 'tunable-tune');
  const trials = JSON.parse(readFileSync(join(dir, 'trials.json'), 'utf8')) as { rungs: number[]; jobs: { rung: number; steps: number }[]; stepsSpent: number };
  assert.deepEqual(trials.rungs, [1, 2, 4]); // 4 / 2^2 .. 4
  assert.ok(trials.stepsSpent <= 20);
  assert.ok(trials.jobs.some((j) => j.rung === 2), 'some trial reached the top rung');
  const best = loadRecipe(join(dir, 'best.yaml'));
  assert.equal(best.name, 'tunable-tuned');
  assert.equal(best.train.steps, 4);
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /val loss vs steps, per trial[^]*<table/);
  const again = distill(['tune', rec, '--params', 'T,alpha,alphaSchedule', '--budget', '20', '--max-steps', '4', '--eta', '2', '--seed', '5']);
  assert.match(again.stderr, /\(already run\)/);
  assert.equal(again.stdout.split('\n')[0], r.stdout.split('\n')[0]); // the same best
  assert.match(distill(['tune', rec, '--params', 'nope', '--budget', '5']).stderr, /no search space for 'nope'/);
});
