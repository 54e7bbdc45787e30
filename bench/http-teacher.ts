// KD throughput with the teacher behind HTTP on loopback vs the same checkpoint in-process: a
// short KD run of a small student on stories260K + tinystories, teacher top-32 rows either way
// (checkpoint: loss.teacher.topK 32; http: `distill serve` children, teacher.topK 32), at several
// request concurrencies and fleet sizes. Prints training tokens/s per setting. Run by hand:
//   npm run build && node dist/bench/http-teacher.js [steps]
// The machine is shared: repeat and read the spread. It asserts nothing.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRecipe } from '../src/recipe/load.js';
import { runRecipe } from '../src/train/run.js';
import { startServe, STORIES, TOK512, type ServeChild } from '../test/helpers/serve-child.js';

const steps = Number(process.argv[2] ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'distill-bench-http-'));
const corpus = join(dir, 'stories.txt');
writeFileSync(corpus, readFileSync('../shared/data/tinystories/stories.txt', 'utf8').split(/\n\s*\n/).slice(0, 600).join('\n\n'));

async function tokensPerSec(name: string, teacher: string, extra = ''): Promise<number> {
  const p = join(dir, `${name}.yaml`);
  writeFileSync(p, `name: ${name}
outDir: ${join(dir, 'runs')}
data: {path: ${corpus}, tokenizer: ${TOK512}, cacheDir: ${join(dir, 'cache')}}
teacher: ${teacher}
student: {kind: config, dim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, hiddenDim: 86, maxSeqLen: 256}
train: {steps: ${steps}, batchSize: 8, seqLen: 256, checkpointEvery: 0}
eval: {every: 0, maxWindows: 1, samples: {prompts: [], maxTokens: 1}}
monitor: {logEvery: 100, progress: false, tensorboard: false}
${extra}`);
  const s = await runRecipe({ recipe: loadRecipe(p), source: p });
  return s.loop.tokensPerSec;
}

const rows: [string, number][] = [];
rows.push(['checkpoint in-process (topK 32)', await tokensPerSec('local', `{kind: checkpoint, path: ${STORIES}}`, 'loss: {teacher: {topK: 32}}')]);
const servers: ServeChild[] = [];
for (const n of [1, 2]) {
  while (servers.length < n) servers.push(await startServe());
  const urls = servers.map((s) => s.url).join(', ');
  for (const conc of [1, 4]) {
    rows.push([`http, ${n} server(s), concurrency ${conc}`, await tokensPerSec(`http-${n}-${conc}`, `{kind: http, urls: [${urls}], model: stories260K.bin, topK: 32, concurrency: ${conc}}`)]);
  }
}
await Promise.all(servers.map((s) => s.stop('SIGTERM')));
console.log(`KD, student 2x32, batch 8 x 256 tokens, ${steps} steps`);
for (const [name, tps] of rows) console.log(`${name.padEnd(40)} ${tps.toFixed(0).padStart(8)} tok/s`);
