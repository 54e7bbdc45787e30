// The before/after table of `distill eval`: every model scored on every text, each model with
// its own tokenizer (so models with different vocabularies meet on bits/byte), and, where a
// reference model shares a model's tokenizer, KL(reference ‖ model) and top-1 agreement on the
// same windows. One row per model × data. It does not print (format-eval-table.ts does).
import { readFileSync, statSync } from 'node:fs';
import type { Backend } from '../engine/backend.js';
import type { Tokenizer } from '../data/index.js';
import type { Model } from '../model/index.js';
import { ModelTeacher } from '../teacher/model-teacher.js';
import { loadModelAndTokenizer, type ModelAndTokenizer } from './load-pair.js';
import { corpusSplitWithBytes, evaluatePerplexity, type SplitName } from './perplexity.js';
import { forwardFlopsPerToken } from './flops.js';
import { EvalError } from './errors.js';
import { DataError } from '../data/errors.js';

export interface EvalModelSpec { path: string; tokenizer?: string }
export interface EvalDataSpec { path: string; field?: string }

export interface EvalTableOptions {
  split: SplitName;
  /** T; default min(256, the shortest context among the models and the reference): the same windows for all. */
  seqLen?: number;
  maxWindows?: number;
  reference?: EvalModelSpec;
  /** The model to run for a loaded checkpoint (quantized, bf16 weights); default the checkpoint's own. */
  prepare?: (loaded: ModelAndTokenizer) => Model;
  onProgress?: (label: string, windows: number, total: number, seqLen: number) => void;
}

export interface EvalRow {
  model: string;
  data: string;
  split: SplitName;
  tokenizer: string;
  /** Tokens the split gave with this model's tokenizer, windows and targets scored, their bytes of text. */
  tokens: number;
  windows: number;
  seqLen: number;
  tokensScored: number;
  bytesScored: number;
  natsPerToken: number;
  bitsPerByte: number;
  perplexity: number;
  top1Accuracy: number;
  /** Against the reference: null when there is none or it has another tokenizer (`referenceNote` says which). */
  top1Agreement: number | null;
  klToReference: number | null;
  referenceNote: 'none' | 'shared tokenizer' | 'other tokenizer';
  params: number;
  bytesOnDisk: number;
  flopsPerToken: number;
  tokensPerSecond: number;
}

/** Default window: 256 tokens, half of stories260K's 512 context (the figure `distill eval` always used). */
export const DEFAULT_EVAL_SEQ_LEN = 256;

/** The tokens of one split of one file for one tokenizer; too little text is an EvalError naming the file and its token count. */
export function evalTokens(data: EvalDataSpec, tok: Tokenizer, split: SplitName, seqLen: number): { tokens: Uint32Array; tokenBytes: Float64Array } {
  const need = `one window of ${seqLen} needs ${seqLen + 1}; give more text or lower --seq-len`;
  let empty = false;
  try { empty = statSync(data.path).isFile() && readFileSync(data.path, 'utf8').trim().length === 0; } catch { /* missing: corpusSplitWithBytes says so */ }
  if (empty) throw new EvalError(`${data.path}: the file holds no text (0 tokens); ${need}`);
  let s: ReturnType<typeof corpusSplitWithBytes>;
  try {
    s = corpusSplitWithBytes(data.path, tok, split, data.field);
  } catch (e) {
    // one document cannot be split into train and val: say how to score it whole
    if (e instanceof DataError && split !== 'all' && /too few to hold out/.test(e.message)) throw new EvalError(`${e.message}; --split all scores it whole`);
    throw e;
  }
  if (s.tokens.length < seqLen + 1) {
    throw new EvalError(`${data.path}: split ${split} gave ${s.tokens.length} tokens (${s.docs} document(s), tokenizer ${tok.source}); ${need}`);
  }
  return s;
}

/** Scores every model on every data file (rows in model-major order). */
export async function evaluateTable(be: Backend, models: readonly EvalModelSpec[], data: readonly EvalDataSpec[], o: EvalTableOptions): Promise<EvalRow[]> {
  if (models.length === 0) throw new EvalError('no model to evaluate; pass --model');
  if (data.length === 0) throw new EvalError('no text to evaluate on; pass --data');
  const loaded = models.map((m) => loadModelAndTokenizer(m.path, m.tokenizer));
  const ref = o.reference ? loadModelAndTokenizer(o.reference.path, o.reference.tokenizer) : null;
  const contexts = [...loaded, ...(ref ? [ref] : [])].map((l) => l.checkpoint.config.maxSeqLen);
  const T = o.seqLen ?? Math.min(DEFAULT_EVAL_SEQ_LEN, ...contexts);
  const refModel = ref ? (o.prepare ? o.prepare(ref) : ref.model) : null;
  const tokenCache = new Map<string, { tokens: Uint32Array; tokenBytes: Float64Array }>();
  const rows: EvalRow[] = [];
  for (const [mi, l] of loaded.entries()) {
    if (T > l.checkpoint.config.maxSeqLen) throw new EvalError(`--seq-len ${T} exceeds ${models[mi].path}'s context of ${l.checkpoint.config.maxSeqLen}`);
    const model = o.prepare ? o.prepare(l) : l.model;
    const shares = ref !== null && ref.tokenizer.identity() === l.tokenizer.identity();
    if (shares && T > ref!.checkpoint.config.maxSeqLen) throw new EvalError(`--seq-len ${T} exceeds the reference ${o.reference!.path}'s context of ${ref!.checkpoint.config.maxSeqLen}`);
    const reference = shares ? new ModelTeacher(be, refModel!, 8, T, o.reference!.path) : undefined;
    for (const d of data) {
      const key = `${l.tokenizer.encoderIdentity()}\n${d.path}\n${d.field ?? ''}`;
      if (!tokenCache.has(key)) tokenCache.set(key, evalTokens(d, l.tokenizer, o.split, T));
      const { tokens, tokenBytes } = tokenCache.get(key)!;
      const label = `eval ${models[mi].path} on ${d.path}`;
      const r = await evaluatePerplexity(be, model, tokens, {
        seqLen: T, maxWindows: o.maxWindows, tokenBytes, reference, onProgress: o.onProgress && ((w, t) => o.onProgress!(label, w, t, T)),
      });
      rows.push({
        model: models[mi].path, data: d.path, split: o.split, tokenizer: l.tokenizer.source,
        tokens: tokens.length, windows: r.windows, seqLen: T, tokensScored: r.tokensScored, bytesScored: r.bytesScored!,
        natsPerToken: r.meanLoss, bitsPerByte: r.bitsPerByte!, perplexity: r.perplexity, top1Accuracy: r.top1Accuracy,
        top1Agreement: r.top1Agreement, klToReference: r.klToReference,
        referenceNote: ref === null ? 'none' : shares ? 'shared tokenizer' : 'other tokenizer',
        params: model.layout.total, bytesOnDisk: l.checkpoint.bytesOnDisk,
        flopsPerToken: forwardFlopsPerToken(model.config, model.layout, T), tokensPerSecond: r.tokensPerSecond,
      });
    }
  }
  return rows;
}
