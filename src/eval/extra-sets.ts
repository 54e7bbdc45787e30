// A run's final eval on the extra sets a recipe names (eval.extra: out-of-domain text): each
// whole file (split all) scored by the student, and by a teacher that scores any text (its own
// loss, and KL/agreement of the student against it). It does not write files (train/run.ts does).
import type { Backend } from '../engine/backend.js';
import type { Tokenizer } from '../data/index.js';
import type { Model } from '../model/index.js';
import type { Teacher } from '../teacher/teacher.js';
import { evalTokens } from './eval-table.js';
import { evaluatePerplexity } from './perplexity.js';

export interface ExtraSet { name: string; path: string; field?: string }

export interface ExtraScore {
  valLoss: number;
  bitsPerByte: number;
  top1Accuracy: number;
  klToTeacher: number | null;
  top1Agreement: number | null;
  tokens: number;
}

export interface ExtraScores { student: Record<string, ExtraScore>; teacher: Record<string, ExtraScore> | null }

/** Scores every set with windows of T (at most maxWindows), B windows a batch (the teacher's batch). */
export async function evaluateExtraSets(be: Backend, sets: readonly ExtraSet[], tok: Tokenizer, student: Model,
  teacher: Teacher | null, B: number, T: number, maxWindows?: number): Promise<ExtraScores> {
  const out: ExtraScores = { student: {}, teacher: teacher?.localModel ? {} : null };
  for (const s of sets) {
    const { tokens, tokenBytes } = evalTokens({ path: s.path, field: s.field }, tok, 'all', T);
    const score = async (m: Model, ref: Teacher | undefined): Promise<ExtraScore> => {
      const r = await evaluatePerplexity(be, m, tokens, { seqLen: T, maxWindows, batchSize: B, tokenBytes, reference: ref });
      return { valLoss: r.meanLoss, bitsPerByte: r.bitsPerByte!, top1Accuracy: r.top1Accuracy, klToTeacher: r.klToReference, top1Agreement: r.top1Agreement, tokens: r.tokensScored };
    };
    out.student[s.name] = await score(student, teacher ?? undefined);
    if (out.teacher && teacher?.localModel) out.teacher[s.name] = await score(teacher.localModel, undefined);
  }
  return out;
}
