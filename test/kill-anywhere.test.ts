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
import { runRecipeFile, trainLines } from './helpers/run-recipe.js';
import { tinyRecipes } from './helpers/tiny-recipe.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { Rng } from '../src/engine/rng.js';
import { saveStages } from '../src/train/train-state.js';
import { readTfEvents } from '../src/io/tfevents.js';
import { isMachineDependent } from '../src/monitor/metric-kinds.js';

const { dir, recipe } = tinyRecipes('distill-kill-', {
  paragraphs: 120, seed: 5, train: '{steps: 8, batchSize: 2, seqLen: 16, lr: 0.01, checkpointEvery: 2}',
  eval: '{every: 4, maxWindows: 2, samples: {prompts: [], maxTokens: 4}}',
});

class Killed extends Error {}

/** Every scalar of every event file of a run, as `step tag value` lines in step order (the
 *  timing and memory tags, which differ between any two runs, left out). */
const eventScalars = (runDir: string) => readdirSync(runDir).filter((n) => n.startsWith('events.out.tfevents.'))
  .flatMap((n) => readTfEvents(join(runDir, n)))
  .flatMap((e) => e.values.filter((v) => v.simpleValue !== undefined && !isMachineDependent(v.tag)).map((v) => ({ step: e.step, line: `${e.step} ${v.tag} ${v.simpleValue}` })))
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

/** The step of the last line of a run's metrics.jsonl (0 when none yet). */
function loggedStep(runDir: string): number {
  try {
    const lines = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trimEnd().split('\n');
    return (JSON.parse(lines[lines.length - 1]) as { step: number }).step;
  } catch {
    return 0; // absent, empty, or a torn last line being written
  }
}

/** Runs `distill run RECIPE [--resume]` in a child; with `killAtStep`, SIGKILLs it as soon as its
 *  metrics.jsonl shows that step (polled every few ms, so the kill lands anywhere in the steps after). */
function cliRun(recipePath: string, runDir: string, resume: boolean, killAtStep?: number): Promise<{ signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, ['dist/src/cli/main.js', 'run', recipePath, ...(resume ? ['--resume'] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const timer = killAtStep === undefined ? undefined : setInterval(() => { if (loggedStep(runDir) >= killAtStep) child.kill('SIGKILL'); }, 3);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(timer);
      if (code !== 0 && signal !== 'SIGKILL') reject(new Error(`distill run exited ${code}: ${err}`));
      else resolve({ signal });
    });
  });
}

test('real kill -9 of distill run at random times, resumed with --resume, ends at the uninterrupted weights and logs', async (t) => {
  const longer = tinyRecipes('distill-kill9-', {
    paragraphs: 120, seed: 6, train: '{steps: 24, batchSize: 2, seqLen: 16, lr: 0.01, checkpointEvery: 3}',
    eval: '{every: 6, maxWindows: 2, samples: {prompts: [], maxTokens: 4}}',
  });
  const refDir = join(longer.dir, 'runs', 'ref');
  await cliRun(longer.recipe('ref'), refDir, false);
  const final = (d: string) => loadCheckpoint(join(d, 'checkpoints', 'step-000024', 'model.safetensors')).params;
  const want = final(refDir);
  const rng = new Rng(99);
  let killed = 0;
  for (let trial = 0; trial < 6; trial++) {
    const p = longer.recipe(`k${trial}`);
    const d = join(longer.dir, 'runs', `k${trial}`);
    for (let attempt = 0; ; attempt++) {
      assert.ok(attempt < 6, `trial ${trial}: did not finish`);
      // Two kills at steps drawn over the run (a target already passed kills at once); the last attempt runs through.
      const r = await cliRun(p, d, attempt > 0, attempt < 2 ? 1 + rng.nextInt(22) : undefined);
      if (r.signal === 'SIGKILL') { killed++; continue; }
      break;
    }
    assert.deepEqual(final(d), want, `trial ${trial}: final weights`);
    assert.deepEqual(trainLines(d), trainLines(refDir), `trial ${trial}: metrics.jsonl`);
    assert.deepEqual(eventScalars(d), eventScalars(refDir), `trial ${trial}: tfevents`);
  }
  t.diagnostic(`${killed} of 12 child runs killed`);
  assert.ok(killed >= 9, `only ${killed} of 12 child runs were killed before they finished`);
});
