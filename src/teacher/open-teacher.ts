// The one factory of teachers: openTeacher(spec, ctx) builds whichever source a recipe (or the
// cache command) names and checks it against the run — vocabulary (a padded head may be larger,
// never smaller), tokenizer, context. Callers hold the Teacher interface only (and close() it when
// done); new sources (ONNX, HTTP servers) are added here and nowhere else. It trains nothing.
import type { TokenStream } from '../data/batcher.js';
import type { Backend } from '../engine/backend.js';
import { loadCheckpoint } from '../io/load-model.js';
import { createModel } from '../model/index.js';
import { LlamaCppTeacher } from './llama-cpp-teacher.js';
import { ModelTeacher, type TeacherPrecision } from './model-teacher.js';
import { openStoreTeacher, type ProcessingAsked } from './store-teacher.js';
import { type Teacher, TeacherError } from './teacher.js';

/** What a recipe's `teacher:` says (src/recipe/schema.ts Teacher is checked against this type). */
export type TeacherSpec =
  | { kind: 'none' }
  | { kind: 'checkpoint'; path: string; precision: TeacherPrecision }
  | { kind: 'store'; path: string; expect?: string }
  | { kind: 'llama-cpp'; path: string; topK: number };

export interface TeacherContext {
  be: Backend;
  /** The run's tokenizer: the teacher's ids must be its ids. */
  tokenizer: { identity(): string; source: string; vocabSize: number };
  /** At most this many windows of at most seqLen tokens per call (sources size buffers once). */
  batch: number;
  seqLen: number;
  /** The run's token streams (a store must have been cached from them). */
  corpus: { train: TokenStream; val: TokenStream };
  /** The teacher-logit processing the run asks for (a store refuses what its truncation fixed). */
  processing: ProcessingAsked;
  /** Where the spec comes from (a recipe file), to begin error messages with. */
  source: string;
}

/** The teacher `spec` names, opened and checked against `ctx`; null for `none` (hard labels only). */
export async function openTeacher(spec: TeacherSpec, ctx: TeacherContext): Promise<Teacher | null> {
  let teacher: Teacher;
  switch (spec.kind) {
    case 'none': return null;
    case 'checkpoint': {
      const c = loadCheckpoint(spec.path);
      teacher = new ModelTeacher(ctx.be, createModel(c.config, c.params), ctx.batch, ctx.seqLen, `${c.source} ${spec.path}`,
        spec.precision, ctx.tokenizer.identity());
      break;
    }
    case 'store':
      teacher = openStoreTeacher(spec, ctx);
      break;
    case 'llama-cpp':
      teacher = await LlamaCppTeacher.open({ path: spec.path, topK: spec.topK, batch: ctx.batch, seqLen: ctx.seqLen, threads: ctx.be.threads });
      break;
    default: {
      const never: never = spec;
      throw new TeacherError(`${ctx.source}: unknown teacher kind '${(never as { kind: string }).kind}'`);
    }
  }
  try {
    checkFits(teacher, ctx);
  } catch (e) {
    await teacher.close?.();
    throw e;
  }
  return teacher;
}

/** The checks every source passes, whatever its kind: ids of the run's tokenizer, a vocabulary at
 *  least the tokenizer's (a larger one is a padded head, cut by the teacher), the run's context. */
function checkFits(t: Teacher, ctx: TeacherContext): void {
  const tok = ctx.tokenizer;
  if (t.tokenizerIdentity !== null && t.tokenizerIdentity !== tok.identity()) {
    throw new TeacherError(`${ctx.source}: teacher ${t.description} speaks tokenizer ${t.tokenizerIdentity}, the run's ${tok.source} is ${tok.identity()}; teacher and student must share a tokenizer`);
  }
  if (t.vocabSize < tok.vocabSize) {
    throw new TeacherError(`${ctx.source}: teacher ${t.description} has a vocabulary of ${t.vocabSize} but the tokenizer ${tok.source} has ${tok.vocabSize}; teacher and student must share a vocabulary`);
  }
  if (ctx.seqLen > t.maxSeqLen) throw new TeacherError(`${ctx.source}: windows of ${ctx.seqLen} tokens exceed teacher ${t.description}'s context of ${t.maxSeqLen}; lower train.seqLen`);
}
