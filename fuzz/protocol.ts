// What the fuzzer's parent (run.ts) and children (worker.ts) agree on: the outcome names, in the
// order their counts sit in the progress file after the input index, and where the input lives.
import { join } from 'node:path';

/** Counts kept in the progress file (Float64Array): the index of the input being parsed, then one per outcome. */
export const OUTCOMES = ['accepted', 'clean', 'unclean', 'alloc'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** The input path for a target: a file or a folder inside `work`. */
export const inputPath = (work: string, shape: 'file' | 'folder', ext: string): string => join(work, shape === 'file' ? `input${ext}` : 'input');
