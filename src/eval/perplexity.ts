// Mean next-token loss and perplexity of a model over a token stream (`distill eval`): the
// arguments checked, then the one validation loss of distill-eval.ts over non-overlapping
// windows of src/data's evalWindows. Windowing (shared with scripts/ref-eval-stories260k.py):
//   N tokens, T = seqLen, W = floor((N - 1) / T) windows (capped by maxWindows);
//   window i: inputs tokens[i*T .. i*T+T-1], targets tokens[i*T+1 .. i*T+T];
//   the tail with fewer than T targets is DROPPED; loss = mean over all W*T targets, in nats.
// Every window starts with an empty context (no carry-over between windows).
// Given the tokenizer, the same summed loss is also divided by the UTF-8 bytes of text the scored
// targets spell (nats/byte, bits/byte), which ranks models with different tokenizers.
// It does not tokenize or read files; callers pass token ids (see corpusSplit below for text).

import type { Backend } from '../engine/backend.js';
import { evalWindowCount, type TokenStream, type Tokenizer } from '../data/index.js';
import { corpusDocuments, readCorpusBytes, resolveCorpusOptions, tokenizeDocuments } from '../data/corpus.js';
import { documentTokenBytes } from './text-bytes.js';
import { createActivations, type Model } from '../model/index.js';
import { createEvalScratch, evaluateStudent } from './distill-eval.js';
import { EvalError } from './errors.js';
import type { Teacher } from '../teacher/teacher.js';

export { EvalError } from './errors.js';

export interface PerplexityOptions {
  /** T: tokens per window (inputs), at most the model's maxSeqLen. */
  seqLen: number;
  /** Score only the first this-many windows (default: all). */
  maxWindows?: number;
  /** Windows per forward pass (default 8: enough rows to keep the GEMMs busy, small activations). */
  batchSize?: number;
  /** Bytes of text each token stands for (text-bytes.ts): with them, the loss is also given per byte. */
  tokenBytes?: ArrayLike<number>;
  /** A reference model sharing the tokenizer: KL(reference ‖ model) and top-1 agreement on the same windows. */
  reference?: Teacher;
  /** Called after each batch: windows scored so far, windows in all (for a progress line). */
  onProgress?: (windows: number, total: number) => void;
}

export interface PerplexityResult {
  /** Mean next-token cross-entropy over all scored targets (nats/token). */
  meanLoss: number;
  /** exp(meanLoss). */
  perplexity: number;
  windows: number;
  seqLen: number;
  /** Fraction of targets that are the model's argmax (ties to the lower id). */
  top1Accuracy: number;
  /** With a reference: mean KL(reference ‖ model) per token (nats) and top-1 agreement; else null. */
  klToReference: number | null;
  top1Agreement: number | null;
  /** Targets scored: windows * seqLen. */
  tokensScored: number;
  /** Wall time of the forward passes (s) and the resulting throughput. */
  seconds: number;
  tokensPerSecond: number;
  /** With tokenBytes: UTF-8 bytes of text the scored targets stand for, and the summed loss per byte
   *  in nats and in bits (= nats / ln 2): comparable across tokenizers, unlike per-token loss. */
  bytesScored: number | null;
  natsPerByte: number | null;
  bitsPerByte: number | null;
}


export type SplitName = 'train' | 'val' | 'all';

/** Token ids of a corpus split per shared/data/README.md (src/data tokenizeDocuments: BOS + tokens per
 *  paragraph, last 10% val), and the bytes of text each token stands for (text-bytes.ts). 'all'
 *  holds nothing out, so a single document (a book, an article) can be scored whole. `field`: the
 *  JSONL string field (default 'text'). */
export function corpusSplitWithBytes(path: string, tok: Tokenizer, split: SplitName, field?: string): { tokens: Uint32Array; tokenBytes: Float64Array; docs: number } {
  const o = resolveCorpusOptions(path, { field, valFraction: split === 'all' ? 0 : undefined });
  const docs = corpusDocuments(path, readCorpusBytes(path), o);
  const c = tokenizeDocuments(path, docs, tok, o.valFraction);
  const nTrain = docs.length - c.valDocs;
  const pick = split === 'val' ? { tokens: c.val, docs: docs.slice(nTrain) } : { tokens: c.train, docs: docs.slice(0, nTrain) };
  return { tokens: pick.tokens, tokenBytes: documentTokenBytes(tok, pick.docs, pick.tokens), docs: pick.docs.length };
}

/** The token ids of corpusSplitWithBytes alone. */
export function corpusSplit(path: string, tok: Tokenizer, split: SplitName): Uint32Array {
  return corpusSplitWithBytes(path, tok, split).tokens;
}

/** Scores `tokens` window by window (see the file header for the exact definition). */
export async function evaluatePerplexity(be: Backend, model: Model, tokens: TokenStream, opts: PerplexityOptions): Promise<PerplexityResult> {
  const T = opts.seqLen;
  const c = model.config;
  if (!Number.isInteger(T) || T < 1 || T > c.maxSeqLen) throw new EvalError(`seqLen must be an integer in [1, ${c.maxSeqLen}] (the model's context), got ${T}`);
  if (opts.maxWindows !== undefined && (!Number.isInteger(opts.maxWindows) || opts.maxWindows < 1)) throw new EvalError(`maxWindows must be a positive integer, got ${opts.maxWindows}`);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] < 0 || tokens[i] >= c.vocabSize) throw new EvalError(`token ${tokens[i]} at position ${i} is outside the model's vocabulary [0, ${c.vocabSize}); is the tokenizer the model's?`);
  }
  let W = evalWindowCount(tokens.length, T);
  if (W === 0) throw new EvalError(`${tokens.length} tokens make no window of ${T} inputs + ${T} targets; need at least ${T + 1} tokens (lower --seq-len or give more text)`);
  if (opts.maxWindows !== undefined) W = Math.min(W, opts.maxWindows);
  const B = Math.max(1, Math.min(opts.batchSize ?? 8, W));
  const acts = createActivations(c, B, T, { training: false, allLogits: true });
  const r = await evaluateStudent(be, model, acts, opts.reference ?? null, { tokens, split: 'val', what: 'evaluation tokens' }, B, T, createEvalScratch(B, T), W,
    opts.onProgress && ((done: number) => opts.onProgress!(done, W)));
  // Windows are contiguous from 0, so the targets scored are tokens[1 .. W*T].
  let bytes: number | null = null;
  if (opts.tokenBytes) {
    bytes = 0;
    for (let i = 1; i <= r.tokens; i++) bytes += opts.tokenBytes[i];
  }
  const natsPerByte = bytes ? (r.valLoss * r.tokens) / bytes : null;
  return {
    meanLoss: r.valLoss, perplexity: Math.exp(r.valLoss), top1Accuracy: r.top1Accuracy, klToReference: r.klToTeacher, top1Agreement: r.top1Agreement, windows: r.windows, seqLen: T, tokensScored: r.tokens,
    seconds: r.seconds, tokensPerSecond: r.tokens / Math.max(r.seconds, 1e-9),
    bytesScored: bytes, natsPerByte, bitsPerByte: natsPerByte === null ? null : natsPerByte / Math.LN2,
  };
}
