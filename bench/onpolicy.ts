// The on-policy measurement of issue 15 (docs/onpolicy.md): stories260K teaches the demo student
// of recipes/tinystories/kd-stories260k.yaml five ways — CE only, hard labels (teacher-generated
// answers, data.format pairs), soft-label KD, on-policy JSD and on-policy reverse KL — over paired
// seeds, then every student is scored the same way: validation bits/byte on stories.txt and the
// quality of its samples (teacher NLL per token, repeated 4-grams). Run by hand:
//   npm run build && node dist/bench/onpolicy.js [steps=200] [seeds=3] [outDir=runs/bench-onpolicy] [from=scratch]
// from=ce: every arm starts from the CE student of an earlier from=scratch run in the same outDir
// (same seed) instead of a fresh one: the warm start GKD assumes. It prints a markdown table and
// writes results-<from>.json; it asserts nothing.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer, splitParagraphs } from '../src/data/index.js';
import { loadPairCorpus } from '../src/data/pairs.js';
import { selectBackend } from '../src/engine/select.js';
import { corpusSplitWithBytes, evaluatePerplexity } from '../src/eval/perplexity.js';
import { sampleQuality } from '../src/eval/sample-quality.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { createModel } from '../src/model/index.js';
import { loadRecipe } from '../src/recipe/load.js';
import { generateData } from '../src/teacher/generate-data-job.js';
import { ModelTeacher } from '../src/teacher/model-teacher.js';
import { runRecipe } from '../src/train/run.js';
import { listCheckpoints } from '../src/train/train-state.js';

const steps = Number(process.argv[2] ?? 200);
const seeds = Number(process.argv[3] ?? 3);
const out = process.argv[4] ?? join('runs', 'bench-onpolicy');
const from = process.argv[5] ?? 'scratch';
if (from !== 'scratch' && from !== 'ce') throw new Error(`from must be scratch or ce, got ${from}`);
const B = 16, T = 128; // 2,048 teacher-scored positions a step
const STORIES = '../shared/data/tinystories/stories.txt';
const TEACHER = '../shared/data/stories260K/stories260K.bin';
const TOK = '../shared/data/stories260K/tok512.bin';
const RECIPE = 'recipes/tinystories/kd-stories260k.yaml';
mkdirSync(out, { recursive: true });

const be = selectBackend();
const tok = loadTokenizer(TOK);
const ck = loadCheckpoint(TEACHER);
const teacherModel = createModel(ck.config, ck.params);
const stopIds = [tok.eosId!, tok.bosId!];
const paragraphs = splitParagraphs(readFileSync(STORIES, 'utf8'));
const nTrain = paragraphs.length - Math.round(paragraphs.length * 0.1); // the corpus convention: last 10 % val
const firstSentence = (p: string) => { const i = p.search(/[.!?]/); return i > 0 ? p.slice(0, i + 1) : p.slice(0, 60); };

// Hard labels: the teacher answers the first sentence of every training paragraph (one answer
// each, sampled at T = 1), about the teacher-forward budget the KD arms spend (steps·B·T).
const pairsPath = join(out, 'teacher-pairs.jsonl'); // resumed (kept) when a run made it already
const t0 = performance.now();
await generateData({
  teacher: new ModelTeacher(be, teacherModel, 1, 1, `llama2c-legacy ${TEACHER}`, 'fp32', tok.identity()), tokenizer: tok,
  prompts: paragraphs.slice(0, nTrain).map(firstSentence), out: pairsPath, nPerPrompt: 1, stopIds, concurrency: 1,
  sampling: { temperature: 1, topK: 0, topP: 1, seed: 0, maxTokens: T + 1 - 24 },
});
const pc = loadPairCorpus(pairsPath, tok, { prompt: 'prompt', response: 'response' }, 0).train;
const generatedTokens = pc.tokens.length - pc.promptLens.reduce((a, x) => a + x, 0) - pc.starts.length; // minus prompts and EOS
console.error(`teacher answers: ${pc.starts.length} pairs, ${generatedTokens} generated tokens in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const finalCheckpoint = (runDir: string) => join(runDir, 'checkpoints', `step-${String(Math.max(...listCheckpoints(runDir))).padStart(6, '0')}`, 'model.safetensors');
const common = (name: string, seed: number) => [`name=${from === 'ce' ? 'warm-' : ''}${name}-s${seed}`,
  ...(from === 'ce' ? [`student={kind: checkpoint, path: ${finalCheckpoint(join(out, `ce-s${seed}`))}}`] : []), `seed=${seed}`, `outDir=${out}`, `train.steps=${steps}`, `train.batchSize=${B}`,
  `train.seqLen=${T}`, 'train.checkpointEvery=0', 'eval.every=0', 'monitor.progress=false', 'monitor.tensorboard=false'];
const ARMS: Record<string, string[]> = {
  ce: ['loss.alpha=1'],
  'hard-label': ['loss.alpha=1', `data.path=${pairsPath}`, 'data.format=pairs', 'data.validFraction=0.05'],
  kd: ['loss.alpha=0.5', 'loss.kd={kind: forward-kl}'],
  'onpolicy-jsd': ['loss.alpha=0.5', 'loss.kd={kind: jsd, beta: 0.5}', 'loss.onPolicy={lambda: 0.5, maxNewTokens: 112, promptTokens: 16, temperature: 1}'],
  'onpolicy-rkl': ['loss.alpha=0.5', 'loss.kd={kind: reverse-kl}', 'loss.onPolicy={lambda: 0.5, maxNewTokens: 112, promptTokens: 16, temperature: 1}'],
};

// Every student is scored alike: bits/byte on stories.txt's validation paragraphs (windows of
// 256), and 64 sampled continuations (T = 1, 64 tokens) of validation first sentences.
const val = corpusSplitWithBytes(STORIES, tok, 'val');
const prompts = paragraphs.slice(nTrain, nTrain + 64).map((p) => [tok.bosId!, ...tok.encode(firstSentence(p))]);
const score = async (model: ReturnType<typeof createModel>) => {
  const ppl = await evaluatePerplexity(be, model, val.tokens, { seqLen: 256, tokenBytes: val.tokenBytes });
  const q = sampleQuality(be, model, teacherModel, prompts, { maxNewTokens: 64, temperature: 1, seed: 1000, stopIds });
  return { bitsPerByte: ppl.bitsPerByte!, judgeNll: q.judgeNll, repetition: q.repetition, meanTokens: q.meanTokens };
};

type Score = Awaited<ReturnType<typeof score>> & { seconds: number; generatedBatches?: number };
const results: Record<string, Score[]> = {};
const teacherScore = await score(teacherModel);
for (let seed = 1; seed <= seeds; seed++) {
  for (const [arm, extra] of Object.entries(ARMS)) {
    const recipe = loadRecipe(RECIPE, [...common(arm, seed), ...extra]);
    const s = await runRecipe({ recipe, source: `${RECIPE} ${arm}`, overwrite: true });
    const student = loadCheckpoint(finalCheckpoint(s.runDir));
    const r: Score = { ...(await score(createModel(student.config, student.params))), seconds: s.seconds };
    (results[arm] ??= []).push(r);
    console.error(`${arm} seed ${seed}: ${JSON.stringify(r)}`);
  }
}
writeFileSync(join(out, `results-${from}.json`), JSON.stringify({ from, steps, B, T, seeds, generatedTokens, teacherPositionsPerArm: steps * B * T, teacher: teacherScore, results }, null, 1) + '\n');

const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
const fmt = (xs: number[], d = 4) => `${mean(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
console.log(`| arm | val bits/byte | teacher NLL of samples (nats/token) | repeated 4-grams | Δ bits/byte vs CE, per seed |`);
console.log('|---|---|---|---|---|');
for (const [arm, rs] of Object.entries(results)) {
  const d = rs.map((r, i) => (r.bitsPerByte - results.ce[i].bitsPerByte).toFixed(4)).join(' / ');
  console.log(`| ${arm} | ${fmt(rs.map((r) => r.bitsPerByte))} | ${fmt(rs.map((r) => r.judgeNll), 3)} | ${fmt(rs.map((r) => r.repetition), 3)} | ${d} |`);
}
console.log(`| teacher | ${teacherScore.bitsPerByte.toFixed(4)} | ${teacherScore.judgeNll.toFixed(3)} | ${teacherScore.repetition.toFixed(3)} | |`);
