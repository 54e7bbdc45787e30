// The one training loop of distill: every recipe (KD with any loss, or hard labels only) runs
// through it. Per step: draw micro-batches, teacher rows, student forward, α·CE + (1−α)·KD and
// its gradient, backward, clip, AdamW; log, evaluate, checkpoint. Buffers are sized once. A
// student made from the teacher is also evaluated before the first step.
// It does not parse recipes or set up files (run.ts does).
import type { Backend } from '../engine/backend.js';
import { RandomWindowBatcher, type TokenStream } from '../data/batcher.js';
import { PairBatcher, type WindowSource } from '../data/pair-batcher.js';
import type { TokenizedPairs } from '../data/pairs.js';
import { resolveSchedule, scheduleValue } from '../distill/index.js';
import { createEvalScratch, evaluateStudent, type DistillEvalResult } from '../eval/distill-eval.js';
import { createActivations, zeroGradsInPlace, type Model } from '../model/index.js';
import type { Monitor } from '../monitor/monitor.js';
import { memoryScalars, StepTimes } from '../monitor/step-scalars.js';
import type { Recipe } from '../recipe/schema.js';
import type { Teacher } from '../teacher/teacher.js';
import { clipGradNormInPlace } from './grad-clip.js';
import { learningRate } from './lr-schedule.js';
import { AdamW } from './optimizer.js';
import { RunError } from './errors.js';
import { MicroStep } from './micro-step.js';
import type { CrossTokenizerSetup } from './cross-teacher-step.js';
import { isGeneratedDraw, type OnPolicyGenerator } from './on-policy.js';
import { loadLatestTrainState, listCheckpoints, saveTrainState, type ExtraTrainState, type TrainState } from './train-state.js';
import { HiddenDistill } from './hidden-distill.js';
import type { AdamWSettings } from './optimizer.js';

/** loss.hidden's step part: needs the teacher's own model (its residual states). */
function hiddenDistill(be: Backend, recipe: Recipe, student: Model, teacher: Teacher, B: number, T: number, adamw: AdamWSettings): HiddenDistill {
  if (recipe.loss.crossTokenizer) throw new RunError(`${recipe.name}: key 'loss.hidden': hidden-state distillation needs teacher and student on the same tokens; it cannot be combined with loss.crossTokenizer`);
  const tm = teacher.localModel;
  if (!tm) throw new RunError(`${recipe.name}: key 'loss.hidden': hidden-state distillation needs the teacher's model in this process (a checkpoint teacher); ${teacher.description} gives only its outputs`);
  return new HiddenDistill(be, student, tm, recipe.loss.hidden!, B, T, adamw, recipe.seed, recipe.name);
}

/** The projections of loss.hidden and their moments, saved and restored with each checkpoint. */
function hiddenCheckpoint(h: HiddenDistill): ExtraTrainState {
  return { file: 'hidden.safetensors', tensors: { params: h.params, m: h.opt.m, v: h.opt.v } };
}

export interface LoopInputs {
  be: Backend;
  recipe: Recipe;
  student: Model;
  /** Scores the student at evaluation; null: there is none. */
  teacher: Teacher | null;
  /** Whether the loss uses the teacher (false for a baseline: run.ts isBaseline). */
  useTeacher: boolean;
  train: TokenStream;
  /** data.format pairs: training rows are these pairs (padded with `pad`), loss on responses only. */
  pairs?: { train: TokenizedPairs; pad: number };
  /** loss.onPolicy with λ > 0: makes the generated micro-batches (the student's own samples, or
   *  the teacher's with seqKd). */
  onPolicy?: OnPolicyGenerator;
  val: TokenStream;
  runDir: string;
  monitor: Monitor;
  resume: boolean;
  /** More scalars measured at each evaluation (run.ts: the diversity of the student's samples on
   *  the fixed prompts); their time counts as eval time. */
  evalScalars?: () => Record<string, number>;
  /** Stop (with a checkpoint) once this many steps are done, as an interrupted run would. */
  stopAfterStep?: number;
  /** Logs what the run adds at its last step (samples, summary scalars): called after the final
   *  eval and before the final checkpoint, so a run whose last checkpoint exists has logged all of
   *  it, and is not called again when such a run is resumed. */
  onFinish?: (step: number, finalEval: DistillEvalResult) => void;
  /** loss.crossTokenizer: the teacher speaks another tokenizer (no KL-to-teacher at evaluation). */
  cross?: CrossTokenizerSetup;
}

export interface StepRecord { step: number; loss: number; ce: number; kd: number; lr: number; gradNorm: number }

export interface LoopResult {
  /** Per-step training losses (of this process; a resumed run starts at its checkpoint). */
  history: StepRecord[];
  finalEval: DistillEvalResult;
  state: TrainState;
  /** Mean training throughput of this process, tokens/s. */
  tokensPerSec: number;
  /** Seconds per op group, summed over the run. */
  timings: Record<string, number>;
}

export async function runTrainingLoop(inp: LoopInputs): Promise<LoopResult> {
  const { be, recipe, student, teacher, monitor } = inp;
  const tr = recipe.train;
  const steps = tr.steps;
  const Bm = tr.batchSize / tr.gradAccum;
  const T = tr.seqLen;
  const alphaS = resolveSchedule(recipe.loss.alpha, steps);
  const tempS = resolveSchedule(recipe.loss.temperature, steps);
  const useTeacher = inp.useTeacher && teacher !== null;
  const adamw = { beta1: tr.beta1, beta2: tr.beta2, eps: tr.eps, weightDecay: tr.weightDecay };
  const hidden = useTeacher && recipe.loss.hidden ? hiddenDistill(be, recipe, student, teacher!, Bm, T, adamw) : null;
  const micro = new MicroStep(be, student, useTeacher ? teacher : null, {
    divergence: recipe.loss.kd, scaleT2: recipe.loss.scaleT2,
    ignoreIndex: recipe.loss.ignoreIndex, teacher: recipe.loss.teacher, cross: inp.cross,
  }, Bm, T, { hidden });
  // Evaluation owns its activations: the fused training ones hold no logits.
  const evalActs = createActivations(student.config, Bm, T, { training: false, allLogits: true });
  const evalScratch = createEvalScratch(Bm, T);
  const opt = new AdamW(student.layout, adamw);
  const extra = hidden ? hiddenCheckpoint(hidden) : undefined;
  const batcher: WindowSource = inp.pairs ? new PairBatcher(inp.pairs.train, Bm, T, recipe.seed, inp.pairs.pad) : new RandomWindowBatcher(inp.train, Bm, T, recipe.seed);

  let state: TrainState = { step: 0, draws: 0, tokens: 0 };
  if (inp.resume) {
    const restored = loadLatestTrainState(inp.runDir, student, opt, extra);
    if (restored && hidden) hidden.opt.step = opt.step; // the projections step with the student
    for (const note of restored?.notes ?? []) monitor.log(note);
    if (restored) {
      state = restored.state;
      for (let i = 0; i < state.draws; i++) batcher.next();
      monitor.log(`resumed from step ${state.step}`);
    }
    // The logs go back to the step training continues from, so they equal an uninterrupted run's.
    monitor.rewindTo(state.step);
  }

  const timings: Record<string, number> = { optimizer: 0, eval: 0, ...(inp.onPolicy ? { generate: 0 } : {}), step: 0 };
  const gen = inp.onPolicy ?? null;
  const allTimings = (): Record<string, number> => ({ ...micro.timings, ...timings });
  const clock = () => performance.now() / 1000;
  const history: StepRecord[] = [];
  const evaluate = async () => {
    const t0 = clock();
    const r = await evaluateStudent(be, student, evalActs, inp.cross ? null : teacher, { tokens: inp.val, split: 'val' }, Bm, T, evalScratch, recipe.eval.maxWindows);
    timings.eval += clock() - t0;
    return r;
  };
  const logEval = (step: number, r: DistillEvalResult) => {
    const s: Record<string, number> = { 'val/loss': r.valLoss };
    if (r.klToTeacher !== null) s['val/kl_to_teacher'] = r.klToTeacher;
    if (r.top1Agreement !== null) s['val/top1_agreement'] = r.top1Agreement;
    const t0 = clock();
    Object.assign(s, inp.evalScalars?.());
    timings.eval += clock() - t0;
    s['eval/seconds'] = r.seconds + clock() - t0;
    monitor.scalars(step, s);
  };
  // step_time/*_ms: the parts of a training step (eval runs between steps, outside them)
  const stepTimes = new StepTimes();
  const stepParts = () => {
    const parts: Record<string, number> = allTimings();
    delete parts.eval;
    return parts;
  };

  if (state.step === 0 && recipe.student.kind === 'from-teacher') {
    // A student made from the teacher is scored before any training (val/loss at step 0).
    const r = await evaluate();
    logEval(0, r);
    monitor.log(`student made from the teacher: ${student.layout.total} parameters, val loss before training ${r.valLoss.toFixed(4)} nats/token`);
  }
  let generated = 0; // generated micro-batches in this process
  const runStart = clock();
  const tokensAtStart = state.tokens;
  let window = { tokens: 0, loss: 0, ce: 0, kd: 0, hidden: 0, n: 0 };
  let skipped = 0; // steps whose non-finite update was dropped (train.nonFinite: skip)
  for (let step = state.step; step < steps; step++) {
    const stepStart = clock();
    const lr = learningRate(tr.schedule, tr.lr, step, steps);
    const alpha = scheduleValue(alphaS, step);
    const temperature = scheduleValue(tempS, step);
    zeroGradsInPlace(student);
    hidden?.zeroGradsInPlace();
    let loss = 0, ce = 0, kd = 0, hid = 0;
    for (let m = 0; m < tr.gradAccum; m++) {
      const windows = batcher.next();
      const draw = state.draws++;
      let a = alpha;
      if (gen && isGeneratedDraw(gen.settings, recipe.seed, draw)) {
        // The student's own continuation is no label: on-policy batches are pure divergence (α 0);
        // a teacher's (seqKd) is, so those keep the recipe's α.
        const t0 = clock();
        const g = await gen.generateBatch(windows, draw, batcher.promptLens);
        timings.generate += clock() - t0;
        micro.setWindows(g.windows, batcher.offsets, g.scored);
        if (!gen.settings.seqKd) a = 0;
        generated++;
      } else {
        micro.setWindows(windows, batcher.offsets, batcher.scored);
      }
      const r = await micro.run(a, temperature, 1 / tr.gradAccum);
      loss += r.loss; ce += r.ce; kd += r.kd; hid += r.hidden;
    }
    loss /= tr.gradAccum; ce /= tr.gradAccum; kd /= tr.gradAccum; hid /= tr.gradAccum;
    const t0 = clock();
    const gradNorm = clipGradNormInPlace(student.grads, tr.clip);
    // A non-finite loss or gradient is never applied (AdamW would spread it into every weight).
    const finite = Number.isFinite(loss) && Number.isFinite(gradNorm);
    if (!finite && tr.nonFinite === 'stop') {
      throw new RunError(`training diverged at step ${step + 1}: loss ${loss}, gradient norm ${gradNorm}; the update was not applied and the last checkpoint is intact. Lower train.lr or raise train.clip, or set train.nonFinite=skip to drop such steps`);
    }
    if (finite) { opt.stepInPlace(be, student.params, student.grads, lr); hidden?.stepInPlace(lr); }
    else skipped++;
    timings.optimizer += clock() - t0;
    timings.step += clock() - stepStart;
    state.step = step + 1;
    state.tokens += tr.batchSize * T;
    history.push({ step: state.step, loss, ce, kd, lr, gradNorm });

    window.tokens += tr.batchSize * T; window.loss += loss; window.ce += ce; window.kd += kd; window.hidden += hid; window.n++;
    if (state.step % recipe.monitor.logEvery === 0 || state.step === steps) {
      const scalars: Record<string, number> = {
        'train/loss': window.loss / window.n,
        'train/ce_loss': window.ce / window.n,
        'train/lr': lr,
        'train/grad_norm': gradNorm,
        'train/tokens': state.tokens,
        'train/alpha': alpha,
        'train/temperature': temperature,
        ...stepTimes.scalars(stepParts(), 'step', window.n, window.tokens),
        ...memoryScalars(),
      };
      if (useTeacher) scalars['train/kd_loss'] = window.kd / window.n;
      if (hidden) scalars['train/hidden_loss'] = window.hidden / window.n;
      if (tr.nonFinite === 'skip') scalars['train/skipped_steps'] = skipped;
      if (gen) scalars['train/generated_batches'] = generated;
      monitor.scalars(state.step, scalars);
      window = { tokens: 0, loss: 0, ce: 0, kd: 0, hidden: 0, n: 0 };
    }
    if (recipe.eval.every > 0 && state.step % recipe.eval.every === 0 && state.step !== steps) {
      logEval(state.step, await evaluate());
    }
    if (tr.checkpointEvery > 0 && state.step % tr.checkpointEvery === 0 && state.step !== steps) {
      monitor.flush();
      saveTrainState(inp.runDir, student, opt, state, undefined, extra);
    }
    if (inp.stopAfterStep !== undefined && state.step >= inp.stopAfterStep) break;
  }
  const trainSeconds = clock() - runStart - timings.eval;
  const finalEval = await evaluate();
  // A finished run resumed again has its checkpoint already, and its logs hold this final eval:
  // never delete and re-write the checkpoint (a kill in between would leave none, and the next
  // --resume would start over), nor log the eval twice.
  const saved = listCheckpoints(inp.runDir).includes(state.step);
  if (!(saved && state.step === steps)) {
    logEval(state.step, finalEval);
    inp.onFinish?.(state.step, finalEval);
  }
  monitor.flush();
  if (!saved) saveTrainState(inp.runDir, student, opt, state, undefined, extra);
  return {
    history, finalEval, state, timings: allTimings(),
    tokensPerSec: (state.tokens - tokensAtStart) / Math.max(1e-9, trainSeconds),
  };
}
