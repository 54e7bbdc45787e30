// Runs one recipe end to end: backend, tokenizer, token shards, teacher, student, run folder
// (resolved recipe, environment, run.json), the training loop, final evaluation (eval.json),
// sample generations and the HTML report. The loop itself is in loop.ts.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../engine/select.js';
import type { Backend } from '../engine/backend.js';
import { loadNativeAddon } from '../engine/native/index.js';
import { profileBackend, profileScalars, type ProfileReport } from '../engine/profile-backend.js';
import { defaultShardCacheDir, loadCorpusShards, loadTokenizer, createStreamDecoder, type Tokenizer } from '../data/index.js';
import { createEvalScratch, evaluateTeacher } from '../eval/distill-eval.js';
import { generate } from '../model/index.js';
import { Monitor } from '../monitor/monitor.js';
import type { ProgressStream } from '../monitor/progress.js';
import { loadRecipe, RecipeError, resolvedRecipeYaml } from '../recipe/load.js';
import type { Recipe } from '../recipe/schema.js';
import { writeReport } from '../report/report.js';
import { openTeacher } from '../teacher/open-teacher.js';
import { alwaysOne, resolveSchedule } from '../distill/index.js';
import { runTrainingLoop, type LoopResult } from './loop.js';
import { createStudent } from './student-init.js';

export interface RunOptions {
  recipePath: string;
  overrides?: string[];
  /** Continue from the newest checkpoint of an existing run folder. */
  resume?: boolean;
  /** Replace an existing run folder (otherwise an existing one is an error). */
  overwrite?: boolean;
  /** Progress line destination (default stderr); `progress: false` in the recipe silences it. */
  stream?: ProgressStream;
  /** Package version for environment.json. */
  version?: string;
  /** Stop after this many steps, checkpointed, as if interrupted (tests of --resume). */
  stopAfterStep?: number;
  /** Time every backend op over the training loop: profile.json, TensorBoard profile/* scalars. */
  profile?: boolean;
}

export interface RunSummary {
  name: string;
  runDir: string;
  seed: number;
  kind: 'kd' | 'baseline';
  student: { valLoss: number; klToTeacher: number | null; top1Agreement: number | null; params: number };
  teacher: { valLoss: number; params: number } | null;
  tokensPerSec: number;
  seconds: number;
  loop: LoopResult;
  /** With RunOptions.profile: time per op group over the training loop (and its evals). */
  profile?: ProfileReport;
}

export class RunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunError';
  }
}

function environment(be: Backend, recipe: Recipe, version: string): Record<string, unknown> {
  const addon = loadNativeAddon();
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
    compiler: addon ? addon.info().compiler : null,
    seed: recipe.seed,
    startedAt: new Date().toISOString(),
  };
}

function isBaseline(recipe: Recipe): boolean {
  return recipe.teacher.kind === 'none' || alwaysOne(resolveSchedule(recipe.loss.alpha, recipe.train.steps));
}

export async function runRecipe(opts: RunOptions): Promise<RunSummary> {
  const started = performance.now();
  const recipe = loadRecipe(opts.recipePath, opts.overrides ?? []);
  const runDir = join(recipe.outDir, recipe.name);
  if (existsSync(runDir) && readdirSync(runDir).length > 0 && !opts.resume && !opts.overwrite) {
    throw new RunError(`run folder ${runDir} already exists; pass --resume to continue it, --overwrite to replace it, or choose another name (name=...)`);
  }
  const plainBe = selectBackend(recipe.backend === 'auto' ? undefined : recipe.backend, recipe.threads);
  const prof = opts.profile ? profileBackend(plainBe) : null;
  const be: Backend = prof ?? plainBe;
  const tok = loadTokenizer(recipe.data.tokenizer);
  const corpus = loadCorpusShards(recipe.data.path, tok, {
    cacheDir: recipe.data.cacheDir ?? defaultShardCacheDir(), format: recipe.data.format, field: recipe.data.field, valFraction: recipe.data.validFraction,
  });
  const Bm = recipe.train.batchSize / recipe.train.gradAccum;
  const teacher = await openTeacher(recipe.teacher, {
    be, tokenizer: tok, batch: Bm, seqLen: recipe.train.seqLen, corpus: { train: corpus.train.tokens, val: corpus.val.tokens },
    processing: recipe.loss.teacher, source: opts.recipePath,
  });
  const student = createStudent(recipe.student, {
    teacher: teacher?.localModel ?? null, tokenizerVocab: tok.vocabSize, seqLen: recipe.train.seqLen, seed: recipe.seed, recipePath: opts.recipePath,
  });
  if (student.config.vocabSize !== tok.vocabSize) {
    throw new RecipeError(`${opts.recipePath}: student has a vocabulary of ${student.config.vocabSize} but the tokenizer ${recipe.data.tokenizer} has ${tok.vocabSize}`);
  }
  if (recipe.train.seqLen > student.config.maxSeqLen) {
    throw new RecipeError(`${opts.recipePath}: key 'train.seqLen': ${recipe.train.seqLen} exceeds the student's maxSeqLen ${student.config.maxSeqLen}`);
  }

  mkdirSync(runDir, { recursive: true });
  if (opts.overwrite && !opts.resume) clearRunFiles(runDir);
  const version = opts.version ?? '0.0.0';
  writeFileSync(join(runDir, 'recipe.resolved.yaml'), `# resolved from ${opts.recipePath}${opts.overrides?.length ? ` with ${opts.overrides.join(' ')}` : ''}\n${resolvedRecipeYaml(recipe)}`);
  writeFileSync(join(runDir, 'environment.json'), JSON.stringify(environment(be, recipe, version), null, 1) + '\n');
  const kind = isBaseline(recipe) ? 'baseline' : 'kd';
  writeFileSync(join(runDir, 'run.json'), JSON.stringify({
    name: recipe.name, seed: recipe.seed, kind, variant: kind === 'kd' ? recipe.loss.kd.kind : undefined,
    teacher: teacher?.description,
  }) + '\n');

  const monitor = new Monitor(runDir, {
    totalSteps: recipe.train.steps, tokensPerStep: recipe.train.batchSize * recipe.train.seqLen,
    progress: recipe.monitor.progress, stream: opts.stream,
  });
  let loop: LoopResult;
  try {
    prof?.resetProfile();
    loop = await runTrainingLoop({
      be, recipe, student, teacher, train: corpus.train.tokens, val: corpus.val.tokens, runDir, monitor, resume: opts.resume ?? false, stopAfterStep: opts.stopAfterStep,
    });
    const profile = prof?.profile();
    if (profile) {
      writeFileSync(join(runDir, 'profile.json'), JSON.stringify(profile, null, 1) + '\n');
      monitor.scalars(loop.state.step, profileScalars(profile));
    }

    // The teacher's own score on the same windows, for the eval table (a teacher that scores any
    // text: the model the students learned from, bf16 weight copies and all in a bf16 run).
    let teacherEval: { valLoss: number; params: number } | null = null;
    if (teacher?.scoresAnyText) {
      const r = await evaluateTeacher(be, teacher, { tokens: corpus.val.tokens, split: 'val' }, Bm, recipe.train.seqLen,
        createEvalScratch(Bm, recipe.train.seqLen), recipe.eval.maxWindows);
      teacherEval = { valLoss: r.valLoss, params: teacher.params ?? 0 };
    }
    const fe = loop.finalEval;
    writeFileSync(join(runDir, 'eval.json'), JSON.stringify({
      student: {
        valLoss: fe.valLoss, ppl: Math.exp(fe.valLoss), klToTeacher: fe.klToTeacher, top1Agreement: fe.top1Agreement,
        params: student.layout.total, tokensPerSec: loop.tokensPerSec, valTokens: fe.tokens,
      },
      teacher: teacherEval ? { name: teacher!.description, valLoss: teacherEval.valLoss, ppl: Math.exp(teacherEval.valLoss), params: teacherEval.params } : undefined,
      timings: loop.timings,
    }, null, 1) + '\n');

    // Sample generations from the final student.
    const s = recipe.eval.samples;
    s.prompts.forEach((prompt, i) => {
      const ids = tok.encode(prompt, { bos: true });
      const out = generate(be, student, ids, {
        maxNewTokens: s.maxTokens, temperature: s.temperature, seed: recipe.seed,
        stopIds: [tok.eosId, tok.bosId].filter((x): x is number => x !== null),
      });
      const dec = createStreamDecoder(tok);
      const text = prompt + out.tokens.map((t) => dec.push(t)).join('') + dec.flush();
      monitor.text(loop.state.step, `samples/${i}`, text);
    });
    monitor.scalars(loop.state.step, { 'eval/val_loss': fe.valLoss });

    const summary: RunSummary = {
      name: recipe.name, runDir, seed: recipe.seed, kind,
      student: { valLoss: fe.valLoss, klToTeacher: fe.klToTeacher, top1Agreement: fe.top1Agreement, params: student.layout.total },
      teacher: teacherEval, tokensPerSec: loop.tokensPerSec, seconds: (performance.now() - started) / 1000, loop, profile,
    };
    monitor.close();
    writeReport([runDir], join(runDir, 'report.html'));
    return summary;
  } catch (e) {
    monitor.close();
    throw e;
  }
}

/** Removes the outputs of an earlier run in this folder (used with --overwrite only). */
function clearRunFiles(runDir: string): void {
  for (const f of readdirSync(runDir)) {
    if (f === 'checkpoints' || f.startsWith('events.out.tfevents') || ['metrics.jsonl', 'samples.jsonl', 'eval.json', 'report.html', 'profile.json'].includes(f)) {
      rmSync(join(runDir, f), { recursive: true, force: true });
    }
  }
}
