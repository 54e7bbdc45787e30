// The first 25 steps of every shrunk arm of recipes/shrink/ (seeds 1-3) again, evaluated every 5
// steps instead of 25: the same training (same schedule, data and seed; evaluation changes
// nothing, which the step-25 loss checks against the full run) at a finer grain, so that
// bench/shrink-table.mjs can tell where inside the first 25 steps a shrunk student passes the
// random-init student's final loss. Writes runs/shrink-early/<recipe>-s<seed>.
// Usage: node bench/shrink-early.mjs stories260k|tinystories656k [dist folder, default dist]
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [teacher, dist = 'dist'] = process.argv.slice(2);
const { loadRecipe } = await import(resolve(dist, 'src/recipe/load.js'));
const { runRecipe } = await import(resolve(dist, 'src/train/run.js'));
for (const f of readdirSync('recipes/shrink').filter((n) => n.startsWith(`${teacher}-`) && !n.includes('-random')).sort()) {
  for (const seed of [1, 2, 3]) {
    const path = join('recipes/shrink', f);
    const name = `${f.replace(/\.yaml$/, '')}-s${seed}`;
    const recipe = loadRecipe(path, [`seed=${seed}`, `name=${name}`, 'outDir=runs/shrink-early', 'eval.every=5', 'threads=1']);
    const r = await runRecipe({ recipe, source: path, overwrite: true, stopAfterStep: 25 });
    console.log(`${name}: val loss at step 25 ${r.student.valLoss.toFixed(4)}`);
  }
}
