// How varied a model's samples are, the over-distillation signal a formulaic student shows first:
// distinct-n (unique n-grams / n-grams, pooled over all continuations: Li et al. 2016, "A
// Diversity-Promoting Objective") and the repetition rate (the share of a continuation's 4-grams
// that already occurred in it, sample-quality.ts). Token ids in, numbers out; it generates nothing.
import { repeatedNgrams } from './sample-quality.js';

export interface SampleDiversity {
  /** Unique unigrams / unigrams over all continuations (0 when there are none). */
  distinct1: number;
  /** Unique bigrams / bigrams over all continuations. */
  distinct2: number;
  /** Repeated 4-grams / 4-grams, each continuation against itself. */
  repetition4: number;
  /** Mean continuation length, tokens. */
  meanTokens: number;
}

/** Unique n-grams / n-grams over all sequences (an n-gram never spans two sequences); 0 if none. */
export function distinctNgrams(seqs: readonly (readonly number[])[], n: number): number {
  const seen = new Set<string>();
  let total = 0;
  for (const ids of seqs) {
    for (let i = 0; i + n <= ids.length; i++) {
      seen.add(ids.slice(i, i + n).join(','));
      total++;
    }
  }
  return total > 0 ? seen.size / total : 0;
}

export function sampleDiversity(continuations: readonly (readonly number[])[]): SampleDiversity {
  let repeated = 0, grams = 0, tokens = 0;
  for (const c of continuations) {
    const r = repeatedNgrams(c, 4);
    repeated += r.repeated; grams += r.total; tokens += c.length;
  }
  return {
    distinct1: distinctNgrams(continuations, 1),
    distinct2: distinctNgrams(continuations, 2),
    repetition4: grams > 0 ? repeated / grams : 0,
    meanTokens: tokens / Math.max(1, continuations.length),
  };
}

/** The scalars a run logs: diversity/<prefix>distinct_1 ... (prefix 'teacher_' for the teacher's). */
export function diversityScalars(d: SampleDiversity, prefix = ''): Record<string, number> {
  return {
    [`diversity/${prefix}distinct_1`]: d.distinct1,
    [`diversity/${prefix}distinct_2`]: d.distinct2,
    [`diversity/${prefix}repetition_4`]: d.repetition4,
    [`diversity/${prefix}mean_tokens`]: d.meanTokens,
  };
}
