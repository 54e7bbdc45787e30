// Kill anywhere (issue 16): a short KD run is "killed" at 50 random points inside its checkpoint
// saves (a throw from the save's test hook at that stage: after the model file, after the
// optimizer file, between removing an old checkpoint's files, ...; a kill between saves is the
// same as one at the next save's start), then resumed, once or twice, until it finishes. Every
// time its final weights are bit-identical to an uninterrupted run's, and its metrics.jsonl and
// TensorBoard event files hold the same training values. Then a few real `kill -9`s of `distill run`
// child processes at random times, each resumed with --resume, to the same end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRecipeFile } from './helpers/run-recipe.js';
import { tinyRecipes } from './helpers/tiny-recipe.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { Rng } from '../src/engine/rng.js';
import { saveStages } from '../src/train/train-state.js';
import { readTfEvents } from '../src/io/tfevents.js';

const { dir, recipe } = tinyRecipes('distill-kill-', {
  paragraphs: 120, seed: 5, train: '{steps: 8, batchSize: 2, seqLen: 16, lr: 0.01, checkpointEvery: 2}',
  eval: '{every: 4, maxWindows: 2, samples: {prompts: [], maxTokens: 4}}',
});

class Killed extends Error {}

const trainLines = (runDir: string) => readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n')
  .map((l) => JSON.parse(l) as Record<string, number>).filter((m) => 'train/loss' in m)
  .map((m) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'wall_time' && !/per_sec|_s$|rss/.test(k))));

/** Every scalar of every event file of a run, as `step tag value` lines in step order (the
 *  timing and memory tags, which differ between any two runs, left out). */
const eventScalars = (runDir: string) => readdirSync(runDir).filter((n) => n.startsWith('events.out.tfevents.'))
  .flatMap((n) => readTfEvents(join(runDir, n)))
  .flatMap((e) => e.values.filter((v) => v.simpleValue !== undefined && !/per_sec|_s$|rss/.test(v.tag)).map((v) => ({ step: e.step, line: `${e.step} ${v.tag} ${v.simpleValue}` })))
  .sort((a, b) => a.step - b.step || (a.line < b.line ? -1 : a.line > b.line ? 1 : 0)).map((x) => x.line);

test('50 kills at random points inside checkpoint saves, each run resumed to the uninterrupted weights and logs', async () => {
  const ref = await runRecipeFile({ recipePath: recipe('ref') });
  const want = loadCheckpoint(join(ref.runDir, 'checkpoints', 'step-000008', 'model.safetensors')).params;
  const wantLines = trainLines(ref.runDir);
  const wantEvents = eventScalars(ref.runDir);
  // Stage calls in a whole run: 4 saves × (7 stages + 3 per pruned checkpoint) ≈ 40; kills drawn below that.
  const rng = new Rng(2026);
  const stagesSeen = new Set<string>();
  for (let trial = 0; trial < 50; trial++) {
    const p = recipe(`k${trial}`);
    let attempts = 0;
    for (let kills = 1 + rng.nextInt(2); ; kills--) {
      let calls = 0;
      const at = 1 + rng.nextInt(40);
      saveStages.hook = kills > 0 ? (stage) => { if (++calls === at) { stagesSeen.add(stage); throw new Killed(`killed at ${stage}`); } } : null;
      try {
        await runRecipeFile({ recipePath: p, resume: attempts > 0 });
        break;
      } catch (e) {
        if (!(e instanceof Killed)) throw e;
      } finally {
        saveStages.hook = null;
        attempts++;
      }
      assert.ok(attempts < 5, `trial ${trial}: did not finish`);
    }
    const runDir = join(dir, 'runs', `k${trial}`);
    assert.deepEqual(loadCheckpoint(join(runDir, 'checkpoints', 'step-000008', 'model.safetensors')).params, want, `trial ${trial}: final weights`);
    assert.deepEqual(trainLines(runDir), wantLines, `trial ${trial}: metrics.jsonl`);
    assert.deepEqual(eventScalars(runDir), wantEvents, `trial ${trial}: tfevents`);
  }
  assert.ok(stagesSeen.size >= 6, `kills landed in ${[...stagesSeen].join(', ')}`);
});

/** Runs `distill run RECIPE [--resume]` in a child; with `killAfterMs`, SIGKILLs it then. */
function cliRun(recipePath: string, resume: boolean, killAfterMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['dist/src/cli/main.js', 'run', recipePath, ...(resume ? ['--resume'] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 && signal !== 'SIGKILL') reject(new Error(`distill run exited ${code}: ${err}`));
      else resolve({ code, signal, ms: Date.now() - t0 });
    });
  });
}

test('real kill -9 of distill run at random times, resumed with --resume, ends at the uninterrupted weights and logs', async () => {
  const longer = tinyRecipes('distill-kill9-', {
    paragraphs: 120, seed: 6, train: '{steps: 24, batchSize: 2, seqLen: 16, lr: 0.01, checkpointEvery: 3}',
    eval: '{every: 6, maxWindows: 2, samples: {prompts: [], maxTokens: 4}}',
  });
  const ref = longer.recipe('ref');
  const whole = await cliRun(ref, false);
  const refDir = join(longer.dir, 'runs', 'ref');
  const final = (d: string) => loadCheckpoint(join(d, 'checkpoints', 'step-000024', 'model.safetensors')).params;
  const want = final(refDir);
  const rng = new Rng(99);
  let killed = 0;
  for (let trial = 0; trial < 6; trial++) {
    const p = longer.recipe(`k${trial}`);
    for (let attempt = 0; ; attempt++) {
      assert.ok(attempt < 6, `trial ${trial}: did not finish`);
      // Kill times spread over the whole run, node's start-up included; the last attempt runs through.
      const r = await cliRun(p, attempt > 0, attempt < 2 ? 150 + rng.nextInt(Math.max(1, whole.ms)) : undefined);
      if (r.signal === 'SIGKILL') { killed++; continue; }
      break;
    }
    const d = join(longer.dir, 'runs', `k${trial}`);
    assert.deepEqual(final(d), want, `trial ${trial}: final weights`);
    assert.deepEqual(trainLines(d), trainLines(refDir), `trial ${trial}: metrics.jsonl`);
    assert.deepEqual(eventScalars(d), eventScalars(refDir), `trial ${trial}: tfevents`);
  }
  assert.ok(killed >= 4, `only ${killed} of the child runs were killed before they finished`);
});
