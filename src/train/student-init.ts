// Builds the student a recipe asks for: a fresh model of a given shape (vocabulary, norms and
// rotary conventions follow the teacher, else the tokenizer), a copy of chosen teacher blocks
// (DistilBERT-style), or a checkpoint. It does not train.
import { Rng } from '../engine/rng.js';
import { loadCheckpoint } from '../io/load-model.js';
import { type Model, type ModelConfig, createModel, initParams, paramView, validateConfig } from '../model/index.js';
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
      }, `${ctx.recipePath}: student`);
      checkTrainingFits(config, ctx.microBatch, ctx.seqLen, ctx.recipePath);
      return createModel(config, initParams(config, new Rng(ctx.seed)));
    }
    case 'fromTeacher': {
      const teacher = ctx.teacher;
      if (!teacher) throw new RecipeError(`${ctx.recipePath}: key 'student.kind': fromTeacher needs a local teacher model`);
      const L = teacher.config.nLayers;
      for (const l of spec.layers) {
        if (l >= L) throw new RecipeError(`${ctx.recipePath}: key 'student.layers': layer ${l} does not exist; the teacher has layers 0..${L - 1}`);
      }
      const config: ModelConfig = { ...teacher.config, nLayers: spec.layers.length };
      checkTrainingFits(config, ctx.microBatch, ctx.seqLen, ctx.recipePath);
      const student = createModel(config);
      for (const e of student.layout.entries) {
        const src = e.layer < 0 ? e.name : e.name.replace(/^layers\.\d+\./, `layers.${spec.layers[e.layer]}.`);
        paramView(student.layout, student.params, e.name).set(paramView(teacher.layout, teacher.params, src));
      }
      return student;
    }
    case 'checkpoint': {
      const c = loadCheckpoint(spec.path);
      checkTrainingFits(c.config, ctx.microBatch, ctx.seqLen, ctx.recipePath);
      return createModel(c.config, c.params);
    }
  }
}
