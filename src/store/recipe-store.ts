// Opens the teacher store a recipe names (`teacher: {kind: store, path, expect?}`) with every
// check a run needs: same tokenizer, vocabulary and token stream as the run, made by the expected
// teacher when one is named, and no teacher-processing keys the store cannot honour (its
// truncation was fixed when it was cached). It trains nothing.
import { loadCheckpoint } from '../io/load-model.js';
import type { TokenStream } from '../data/batcher.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { RecipeError } from '../recipe/load.js';
import type { Recipe } from '../recipe/schema.js';
import { StoreTeacher } from '../teacher/store-teacher.js';
import { corpusIdentity, teacherIdentity } from './identity.js';

export function openRecipeStore(recipe: Recipe, tok: Tokenizer, train: TokenStream, val: TokenStream, recipePath: string): StoreTeacher {
  if (recipe.teacher.kind !== 'store') throw new RecipeError(`${recipePath}: key 'teacher.kind' is '${recipe.teacher.kind}', not 'store'`);
  const p = recipe.loss.teacher;
  const fixed: string[] = [];
  if (p.topP !== 1) fixed.push(`loss.teacher.topP (${p.topP})`);
  if (p.topK !== undefined) fixed.push(`loss.teacher.topK (${p.topK})`);
  if (p.clip !== undefined) fixed.push(`loss.teacher.clip (${p.clip})`);
  if (p.labelSmoothing !== 0) fixed.push(`loss.teacher.labelSmoothing (${p.labelSmoothing})`);
  if (fixed.length > 0) {
    throw new RecipeError(`${recipePath}: ${fixed.join(', ')} cannot apply to a stored teacher: its top-p/top-k were fixed by \`distill cache\` (--top-p/--k); remove these keys (loss.teacher.tail still applies)`);
  }
  let expect: { teacherIdentity: string; teacherSource: string } | undefined;
  if (recipe.teacher.expect !== undefined) {
    const c = loadCheckpoint(recipe.teacher.expect);
    expect = { teacherIdentity: teacherIdentity(c.config, c.params), teacherSource: recipe.teacher.expect };
  }
  return new StoreTeacher(recipe.teacher.path, val, {
    tokenizerIdentity: tok.identity(), tokenizerSource: tok.source, vocabSize: tok.vocabSize,
    corpusIdentity: corpusIdentity(train, val), ...expect,
  });
}
