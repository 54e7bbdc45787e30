// Builds the student a recipe asks for: a fresh model of a given shape (vocabulary, norms and
// rotary conventions follow the teacher, else the tokenizer), one made from the teacher (blocks,
// width, low rank: src/model/shrink.ts) or a checkpoint. It does not train.
import type { Backend } from '../engine/backend.js';
import { Rng } from '../engine/rng.js';
import type { TokenStream } from '../data/batcher.js';
import { loadCheckpoint } from '../io/load-model.js';
import { ConfigError, type Model, type ModelConfig, type ShrinkResult, createModel, initParams, shrinkModel, validateConfig } from '../model/index.js';
import type { Recipe } from '../recipe/schema.js';
import { RecipeError } from '../recipe/load.js';
import { checkTrainingFits } from './memory-estimate.js';

export interface StudentContext {
  /** The teacher model's config when the teacher is a local model. */
  teacher: Model | null;
  /** Vocabulary of the tokenizer (the student's vocabulary when there is no teacher). */
  tokenizerVocab: number;
  seqLen: number;
  seed: number;
  recipePath: string;
  /** Windows per micro-batch: with seqLen, the activations the memory check counts. */
  microBatch: number;
  /** from-teacher: the backend the width importance runs on and the training tokens whose first
   *  windows calibrate it. */
  be?: Backend;
  calibration?: TokenStream;
  /** from-teacher: told what the shrink did (for the run folder's shrink.json). */
  onShrink?: (r: ShrinkResult) => void;
}

/** The first `windows` windows of T tokens of a stream (fewer when it is shorter), as Int32Array. */
export function firstWindows(tokens: TokenStream, windows: number, T: number): Int32Array {
  const n = Math.min(windows, Math.floor(tokens.length / T)) * T;
  return Int32Array.from({ length: n }, (_, i) => tokens[i]);
}

export function createStudent(spec: Recipe['student'], ctx: StudentContext): Model {
  switch (spec.kind) {
    case 'config': {
      const t = ctx.teacher?.config;
      const config: ModelConfig = validateConfig({
        family: spec.family,
        dim: spec.dim,
        nLayers: spec.nLayers,
        nHeads: spec.nHeads,
        nKvHeads: spec.nKvHeads ?? spec.nHeads,
        hiddenDim: spec.hiddenDim,
        vocabSize: ctx.tokenizerVocab,
        maxSeqLen: spec.maxSeqLen ?? Math.max(ctx.seqLen, t?.maxSeqLen ?? 0),
        normEps: t?.normEps ?? 1e-5,
        ropeTheta: t?.ropeTheta ?? 10000,
        ropeMode: t?.ropeMode ?? 'interleaved',
        tiedEmbeddings: spec.tiedEmbeddings,
        qkvBias: false,
        ...(spec.lowRank ? { lowRank: spec.lowRank } : {}),
      }, `${ctx.recipePath}: student`);
      checkTrainingFits(config, ctx.microBatch, ctx.seqLen, ctx.recipePath);
      return createModel(config, initParams(config, new Rng(ctx.seed)));
    }
    case 'from-teacher': {
      const teacher = ctx.teacher;
      if (!teacher) throw new RecipeError(`${ctx.recipePath}: key 'student.kind': from-teacher needs a local teacher model`);
      if (!ctx.be) throw new RecipeError(`${ctx.recipePath}: key 'student.kind': from-teacher needs a backend to measure the teacher on`);
      const calib = ctx.calibration ? { windows: firstWindows(ctx.calibration, spec.calibrationWindows, ctx.seqLen), T: ctx.seqLen } : null;
      let r: ShrinkResult;
      try {
        r = shrinkModel(ctx.be, teacher, { layers: spec.layers, width: spec.width, lowRank: spec.lowRank }, calib, 'student');
      } catch (e) {
        if (e instanceof ConfigError) throw new RecipeError(`${ctx.recipePath}: ${e.message}`);
        throw e;
      }
      checkTrainingFits(r.model.config, ctx.microBatch, ctx.seqLen, ctx.recipePath);
      ctx.onShrink?.(r);
      return r.model;
    }
    case 'checkpoint': {
      const c = loadCheckpoint(spec.path);
      checkTrainingFits(c.config, ctx.microBatch, ctx.seqLen, ctx.recipePath);
      return createModel(c.config, c.params);
    }
  }
}
