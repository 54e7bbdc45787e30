// The one orchestrator: runs a resolved recipe end to end — backend, tokenizer, token shards, the
// teacher (openTeacher), the student, the run folder's files, the training loop, the final
// evaluation and sample generations — and returns the summary. Each step's work lives in its own
// module; it neither loads the recipe file nor prints nor writes the HTML report (cli/ does).
import { ggufWeightBytes, type GgufWriteType } from '../io/gguf-write.js';
import { selectBackend } from '../engine/select.js';
import type { Backend } from '../engine/backend.js';
import { profileBackend, profileScalars, type ProfileReport } from '../engine/profile-backend.js';
import { alwaysOne, resolveSchedule } from '../distill/index.js';
import { defaultShardCacheDir, loadCorpusShards, loadTokenizer, type Tokenizer } from '../data/index.js';
import { loadPairData, type PairCorpus } from '../data/pairs.js';
import type { TokenStream } from '../data/batcher.js';
import { evaluateExtraSets } from '../eval/extra-sets.js';
import { createEvalScratch, evaluateTeacher } from '../eval/distill-eval.js';
import { sampleContinuations } from '../eval/samples.js';
import { diversityScalars, sampleDiversity } from '../eval/sample-diversity.js';
import { Monitor } from '../monitor/monitor.js';
import type { ProgressStream } from '../monitor/progress.js';
import type { Recipe } from '../recipe/schema.js';
import { openTeacher } from '../teacher/open-teacher.js';
import { RunError } from './errors.js';
import { runTrainingLoop, type LoopResult } from './loop.js';
import { checkRunFolder, openRunFolder, writeRunJson, writeRunStart } from './run-folder.js';
import { createStudent } from './student-init.js';
import { openCrossTokenizer } from './cross-teacher-step.js';
import { OnPolicyGenerator } from './on-policy.js';
import type { Model, ShrinkResult } from '../model/index.js';
import { shrinkRecord } from './shrink-record.js';
import type { Teacher } from '../teacher/teacher.js';

/** The GGUF types whose export size eval.json records. */
const EXPORT_SIZE_TYPES: GgufWriteType[] = ['F32', 'F16', 'Q8_0', 'Q4_0', 'Q4_K'];

export { RunError } from './errors.js';

export interface RunOptions {
  /** The resolved recipe (recipe/load.ts loadRecipe: file, overrides, defaults). */
  recipe: Recipe;
  /** Where it came from, e.g. 'recipes/x.yaml with train.steps=20': begins error messages and
   *  heads recipe.resolved.yaml. Default: the recipe's name. */
  source?: string;
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

/** A baseline trains on hard labels only: no teacher, or α = 1 at every step (the teacher then
 *  still scores the student at evaluation). The one place this is decided. */
export function isBaseline(recipe: Recipe): boolean {
  const op = recipe.loss.onPolicy;
  if (op && op.lambda > 0 && !op.seqKd && recipe.teacher.kind !== 'none') return false; // on-policy batches are pure KD
  return recipe.teacher.kind === 'none' || alwaysOne(resolveSchedule(recipe.loss.alpha, recipe.train.steps));
}

/** The run's token streams; with data.format pairs or chat also the pairs (their streams: the pairs
 *  concatenated, which validation scores whole, prompts included). */
function loadRunData(recipe: Recipe, tok: Tokenizer, source: string): { corpus: { train: { tokens: TokenStream }; val: { tokens: TokenStream } }; pairs: PairCorpus | null } {
  const d = recipe.data;
  if (d.format === 'pairs' || d.format === 'chat') {
    if (recipe.teacher.kind === 'store') throw new RunError(`${source}: key 'teacher.kind': a store teacher replays rows of a token stream; data.format ${d.format} trains on padded pair rows it does not hold. Use a checkpoint, onnx, llama-cpp or http teacher`);
    const pairs = loadPairData({ ...d, format: d.format }, tok);
    return { corpus: { train: { tokens: pairs.train.tokens }, val: { tokens: pairs.val.tokens } }, pairs };
  }
  const cacheDir = d.cacheDir ?? defaultShardCacheDir();
  if (d.valPath !== undefined) {
    // all of data.path trains; validation is the held-out paragraphs of data.valPath
    const train = loadCorpusShards(d.path, tok, { cacheDir, format: d.format, field: d.field, valFraction: 0 }).train;
    const val = loadCorpusShards(d.valPath, tok, { cacheDir, format: 'text', valFraction: d.validFraction }).val;
    return { corpus: { train, val }, pairs: null };
  }
  const corpus = loadCorpusShards(d.path, tok, { cacheDir, format: d.format, field: d.field, valFraction: d.validFraction });
  return { corpus, pairs: null };
}

/** loss.onPolicy's generator, or undefined when it is off (absent or λ = 0: the plain run). */
function onPolicyGenerator(recipe: Recipe, be: Backend, student: Model, teacher: Teacher | null, tok: Tokenizer, source: string): OnPolicyGenerator | undefined {
  const op = recipe.loss.onPolicy;
  if (!op || op.lambda === 0) return undefined;
  // A continuation stops at EOS or BOS (the next document), as `distill generate` does.
  const stopIds = [tok.eosId, tok.bosId].filter((x): x is number => x !== null);
  const Bm = recipe.train.batchSize / recipe.train.gradAccum;
  return new OnPolicyGenerator(be, student, teacher, op, Bm, recipe.train.seqLen, recipe.seed, stopIds, tok.eosId ?? tok.bosId ?? 0, source);
}

export async function runRecipe(opts: RunOptions): Promise<RunSummary> {
  const started = performance.now();
  const { recipe } = opts;
  const source = opts.source ?? recipe.name;
  const folder = { resume: opts.resume ?? false, overwrite: opts.overwrite ?? false };
  checkRunFolder(recipe, folder); // a conflict is reported at once; nothing is deleted before the run is known to start
  const plainBe = selectBackend(recipe.backend === 'auto' ? undefined : recipe.backend, recipe.threads);
  const prof = opts.profile ? profileBackend(plainBe) : null;
  const be: Backend = prof ?? plainBe;
  const tok = loadTokenizer(recipe.data.tokenizer);
  const { corpus, pairs } = loadRunData(recipe, tok, source);
  const T = recipe.train.seqLen, Bm = recipe.train.batchSize / recipe.train.gradAccum;
  const cross = openCrossTokenizer(recipe, tok, corpus.train.tokens, source);
  const teacher = await openTeacher(recipe.teacher, {
    be, tokenizer: tok, batch: Bm, seqLen: T, corpus: { train: corpus.train.tokens, val: corpus.val.tokens },
    processing: recipe.loss.teacher, source, cross: cross ? { tokenizer: cross.setup.teacher.tok, probe: cross.probe, corpus: cross.teacherCorpus } : undefined,
  });
  let shrunk: ShrinkResult | null = null;
  const student = createStudent(recipe.student, {
    teacher: teacher?.localModel ?? null, tokenizerVocab: tok.vocabSize, seqLen: T, seed: recipe.seed, recipePath: source, microBatch: Bm,
    be, calibration: corpus.train.tokens, onShrink: (r) => { shrunk = r; },
  });
  if (student.config.vocabSize !== tok.vocabSize) {
    throw new RunError(`${source}: student has a vocabulary of ${student.config.vocabSize} but the tokenizer ${recipe.data.tokenizer} has ${tok.vocabSize}`);
  }
  if (T > student.config.maxSeqLen) {
    throw new RunError(`${source}: key 'train.seqLen': ${T} exceeds the student's maxSeqLen ${student.config.maxSeqLen}`);
  }
  const runDir = openRunFolder(recipe, folder);
  const kind = isBaseline(recipe) ? 'baseline' : 'kd';
  writeRunStart(runDir, recipe, { source, be, version: opts.version ?? '0.0.0', kind, teacher: teacher?.description });
  if (shrunk) writeRunJson(runDir, 'shrink.json', shrinkRecord(shrunk, teacher?.localModel ?? null));

  const monitor = new Monitor(runDir, {
    totalSteps: recipe.train.steps, tokensPerStep: recipe.train.batchSize * T, progress: recipe.monitor.progress, stream: opts.stream,
  });
  try {
    prof?.resetProfile();
    const loop = await runTrainingLoop({
      be, recipe, student, teacher, useTeacher: kind === 'kd', train: corpus.train.tokens, val: corpus.val.tokens, runDir, monitor,
      pairs: pairs ? { train: pairs.train, pad: tok.eosId ?? tok.bosId ?? 0 } : undefined,
      onPolicy: onPolicyGenerator(recipe, be, student, teacher, tok, source),
      // over-distillation watch: how varied the student's continuations of the fixed prompts are
      evalScalars: () => diversityScalars(sampleDiversity(sampleContinuations(be, student, tok, recipe.eval.samples, recipe.seed).map((x) => x.tokens))),
      resume: opts.resume ?? false, stopAfterStep: opts.stopAfterStep, cross: cross?.setup,
      onFinish: (step, fe) => {
        const profile = prof?.profile();
        if (profile) monitor.scalars(step, profileScalars(profile));
        sampleContinuations(be, student, tok, recipe.eval.samples, recipe.seed).forEach((x, i) => monitor.text(step, `samples/${i}`, x.text));
        // The teacher's continuations of the same prompts, same settings, for the report to set beside
        // them (a teacher run here whose ids are all the tokenizer's: no padded head to sample from).
        const tm = teacher?.localModel;
        if (tm && tm.config.vocabSize === tok.vocabSize) {
          const ts = sampleContinuations(be, tm, tok, recipe.eval.samples, recipe.seed);
          ts.forEach((x, i) => monitor.text(step, `teacher-samples/${i}`, x.text));
          // the teacher's diversity on the same prompts: the level a student's is read against
          monitor.scalars(step, diversityScalars(sampleDiversity(ts.map((x) => x.tokens)), 'teacher_'));
        }
        monitor.scalars(step, { 'eval/val_loss': fe.valLoss });
      },
    });
    const profile = prof?.profile();
    if (profile) writeRunJson(runDir, 'profile.json', profile);
    // The teacher's own score on the same windows, for the eval table (a teacher that scores any
    // text: the model the students learned from, bf16 weight copies and all in a bf16 run).
    let teacherEval: { valLoss: number; params: number } | null = null;
    if (teacher?.scoresAnyText && !cross) {
      const r = await evaluateTeacher(be, teacher, { tokens: corpus.val.tokens, split: 'val' }, Bm, T, createEvalScratch(Bm, T), recipe.eval.maxWindows);
      teacherEval = { valLoss: r.valLoss, params: teacher.params ?? 0 };
    }
    const fe = loop.finalEval;
    // eval.extra: the same student (and teacher) on out-of-domain text, whole files
    const extra = recipe.eval.extra.length === 0 ? null : await evaluateExtraSets(be, recipe.eval.extra, tok, student,
      teacher?.scoresAnyText && !cross ? teacher : null, Bm, T, recipe.eval.maxWindows);
    writeRunJson(runDir, 'eval.json', {
      student: {
        valLoss: fe.valLoss, ppl: Math.exp(fe.valLoss), klToTeacher: fe.klToTeacher, top1Agreement: fe.top1Agreement,
        params: student.layout.total, tokensPerSec: loop.tokensPerSec, valTokens: fe.tokens,
        // what `distill export --format gguf --quant T` (or `--dtype f32|f16`) stores as weights, per type
        exportBytes: Object.fromEntries(EXPORT_SIZE_TYPES.map((t) => [t, ggufWeightBytes(student.config, t)])),
        ...(extra ? { extra: extra.student } : {}),
      },
      teacher: teacherEval ? { name: teacher!.description, valLoss: teacherEval.valLoss, ppl: Math.exp(teacherEval.valLoss), params: teacherEval.params, ...(extra?.teacher ? { extra: extra.teacher } : {}) } : undefined,
      timings: loop.timings,
    });
    monitor.close();
    return {
      name: recipe.name, runDir, seed: recipe.seed, kind,
      student: { valLoss: fe.valLoss, klToTeacher: fe.klToTeacher, top1Agreement: fe.top1Agreement, params: student.layout.total },
      teacher: teacherEval, tokensPerSec: loop.tokensPerSec, seconds: (performance.now() - started) / 1000, loop, profile,
    };
  } catch (e) {
    monitor.close();
    throw e;
  } finally {
    await teacher?.close?.();
  }
}
