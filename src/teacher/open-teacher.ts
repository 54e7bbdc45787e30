// The one factory of teachers: openTeacher(spec, ctx) builds whichever source a recipe (or the
// cache command) names and checks it against the run — vocabulary (a padded head may be larger,
// never smaller), tokenizer, context. Callers hold the Teacher interface only (and close() it when
// done); new sources are added here and nowhere else. It trains nothing.
import type { TokenStream } from '../data/batcher.js';
import { loadTokenizer, type Tokenizer } from '../data/index.js';
import type { Backend } from '../engine/backend.js';
import { carriedTokenizerPath, loadCheckpoint } from '../io/load-model.js';
import { createModel } from '../model/index.js';
import { LlamaCppTeacher } from './llama-cpp-teacher.js';
import { ModelTeacher, type TeacherPrecision } from './model-teacher.js';
import { openOnnxTeacher } from './onnx-teacher.js';
import { openHttpTeacher, type HttpTeacherSpec } from './http-teacher.js';
import { openStoreTeacher, processingOnDenseLogits, type ProcessingAsked } from './store-teacher.js';
import { type Teacher, TeacherError } from './teacher.js';

/** What a recipe's `teacher:` says (src/recipe/schema.ts Teacher is checked against this type). */
export type TeacherSpec =
  | { kind: 'none' }
  | { kind: 'checkpoint'; path: string; precision: TeacherPrecision }
  | { kind: 'store'; path: string; expect?: string }
  | { kind: 'onnx'; path: string }
  | { kind: 'llama-cpp'; path: string; topK: number }
  | HttpTeacherSpec;

export interface TeacherContext {
  be: Backend;
  /** The run's tokenizer: the teacher's ids must be its ids. */
  tokenizer: { identity(): string; source: string; vocabSize: number; decodeToken?(prev: number, id: number): Uint8Array };
  /** At most this many windows of at most seqLen tokens per call (sources size buffers once). */
  batch: number;
  seqLen: number;
  /** The run's token streams (a store must have been cached from them). */
  corpus: { train: TokenStream; val: TokenStream };
  /** The teacher-logit processing the run asks for (a store refuses what its truncation fixed). */
  processing: ProcessingAsked;
  /** Where the spec comes from (a recipe file), to begin error messages with. */
  source: string;
  /** loss.crossTokenizer: the tokenizer the teacher's ids are of (checked instead of the run's),
   *  ids of it to probe a foreign server with, and the corpus as it tokenizes it (what a store
   *  teacher must have been cached from). */
  cross?: { tokenizer: Tokenizer; probe: ArrayLike<number>; corpus?: { train: TokenStream; val: TokenStream } };
}

/** The teacher `spec` names, opened and checked against `ctx`; null for `none` (hard labels only). */
export async function openTeacher(spec: TeacherSpec, ctx: TeacherContext): Promise<Teacher | null> {
  let teacher: Teacher;
  let own: Tokenizer | null = null; // the tokenizer a checkpoint carries, when it carries one
  switch (spec.kind) {
    case 'none': return null;
    case 'checkpoint': {
      const c = loadCheckpoint(spec.path);
      const carried = carriedTokenizerPath(c);
      own = carried === null ? null : loadTokenizer(carried);
      teacher = new ModelTeacher(ctx.be, createModel(c.config, c.params), ctx.batch, ctx.seqLen, `${c.source} ${spec.path}`,
        spec.precision, own ? own.identity() : (ctx.cross?.tokenizer ?? ctx.tokenizer).identity());
      break;
    }
    case 'store':
      teacher = openStoreTeacher(spec, ctx.cross ? { ...ctx, tokenizer: ctx.cross.tokenizer, corpus: ctx.cross.corpus ?? ctx.corpus } : ctx);
      break;
    case 'onnx':
      teacher = await openOnnxTeacher(spec.path, ctx.batch, ctx.seqLen, ctx.source);
      break;
    case 'llama-cpp':
      teacher = await LlamaCppTeacher.open({ path: spec.path, topK: spec.topK, batch: ctx.batch, seqLen: ctx.seqLen, threads: ctx.be.threads });
      break;
    case 'http': {
      const fixed = processingOnDenseLogits(ctx.processing);
      if (fixed.length > 0) throw new TeacherError(`${ctx.source}: ${fixed.join(', ')} cannot apply to an http teacher: its servers send top-k rows, not logits; set the truncation with teacher.topK (${spec.topK}) and remove these keys (loss.teacher.tail still applies)`);
      teacher = await openHttpTeacher(spec, { tokenizer: ctx.cross?.tokenizer ?? ctx.tokenizer, probe: ctx.cross?.probe ?? ctx.corpus.train, source: ctx.source });
      break;
    }
    default: {
      const never: never = spec;
      throw new TeacherError(`${ctx.source}: unknown teacher kind '${(never as { kind: string }).kind}'`);
    }
  }
  try {
    checkFits(teacher, ctx, own);
  } catch (e) {
    await teacher.close?.();
    throw e;
  }
  return teacher;
}


/** The checks every source passes, whatever its kind: ids of the run's tokenizer, a vocabulary at
 *  least the tokenizer's (a larger one is a padded head, cut by the teacher), the run's context.
 *  `own`: the tokenizer the teacher came with, when known, to name in the error. */
function checkFits(t: Teacher, ctx: TeacherContext, own: Tokenizer | null): void {
  const tok = ctx.cross?.tokenizer ?? ctx.tokenizer;
  const run = `${ctx.cross ? "loss.crossTokenizer's teacher tokenizer" : "the run's tokenizer"} ${tok.source} (${tok.vocabSize} pieces, ${tok.identity()})`;
  if (t.tokenizerIdentity !== null && t.tokenizerIdentity !== tok.identity()) {
    const its = own ? `tokenizer ${own.source} (${own.vocabSize} pieces, ${own.identity()})` : `tokenizer ${t.tokenizerIdentity}`;
    throw new TeacherError(`${ctx.source}: teacher ${t.description} speaks ${its}, ${run} is another vocabulary, so their ids do not match one to one. `
      + `Ways out: train the student on the teacher's tokenizer (data.tokenizer: ${own ? own.source : "the teacher's tokenizer file"}); or distil across tokenizers: loss.crossTokenizer: {method: span} (or uld, exact-map; docs/cross-tokenizer.md)`);
  }
  if (t.vocabSize < tok.vocabSize) {
    throw new TeacherError(`${ctx.source}: teacher ${t.description} has a vocabulary of ${t.vocabSize} but ${run} has ${tok.vocabSize}: the teacher cannot score ids ${t.vocabSize}..${tok.vocabSize - 1}. `
      + `Teacher and student must share a vocabulary: a teacher head larger than the tokenizer (a padded head) is sliced to it, a smaller one cannot be. Use the teacher's own tokenizer (data.tokenizer), or a teacher trained on ${tok.source}`);
  }
  if (ctx.seqLen > t.maxSeqLen) throw new TeacherError(`${ctx.source}: windows of ${ctx.seqLen} tokens exceed teacher ${t.description}'s context of ${t.maxSeqLen}; lower train.seqLen`);
}
