// Kill anywhere (issue 16): a short KD run is "killed" at 50 random points inside its checkpoint
// saves (a throw from the save's test hook at that stage: after the model file, after the
// optimizer file, between removing an old checkpoint's files, ...; a kill between saves is the
// same as one at the next save's start), then resumed, once or twice, until it finishes. Every
// time its final weights are bit-identical to an uninterrupted run's and its metrics.jsonl has the
// same training lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runRecipeFile, trainLines } from './helpers/run-recipe.js';
import { tinyRecipes } from './helpers/tiny-recipe.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { Rng } from '../src/engine/rng.js';
import { saveStages } from '../src/train/train-state.js';

const { dir, recipe } = tinyRecipes('distill-kill-', {
  paragraphs: 120, seed: 5, train: '{steps: 8, batchSize: 2, seqLen: 16, lr: 0.01, checkpointEvery: 2}',
  eval: '{every: 4, maxWindows: 2, samples: {prompts: [], maxTokens: 4}}',
});

class Killed extends Error {}


test('50 kills at random points inside checkpoint saves, each run resumed to the uninterrupted weights and logs', async () => {
  const ref = await runRecipeFile({ recipePath: recipe('ref') });
  const want = loadCheckpoint(join(ref.runDir, 'checkpoints', 'step-000008', 'model.safetensors')).params;
  const wantLines = trainLines(ref.runDir);
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
  }
  assert.ok(stagesSeen.size >= 6, `kills landed in ${[...stagesSeen].join(', ')}`);
});
