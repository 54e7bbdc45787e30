// The Teacher interface, the one seam every teacher source plugs into (a model run here, an
// offline store; servers and other runtimes next): windows of token ids in, next-token
// distributions out — dense logits, a model's final hidden states + head for the fused loss, or
// sparse top-k rows with their tail — asynchronously, since a source may be a server or another
// process. Each source declares its vocabulary, tokenizer identity and what it can do. Nothing
// outside teacher/ knows which source it holds. It computes no loss and knows no student.
import type { Bf16Weight } from '../engine/backend.js';
import type { GenerateOptions, GenerateResult, Model } from '../model/index.js';

/** The forms a teacher's answer takes. */
export type TeacherForm = 'logits' | 'hidden' | 'sparse';

export interface TeacherRequest {
  /** B windows of T input ids, row-major (B*T). */
  tokens: Int32Array;
  B: number;
  T: number;
  /** The split the windows come from and each window's first position in it (B): a source that
   *  replays stored rows finds them there; one that runs a model needs only the tokens. */
  split: 'train' | 'val';
  offsets: Int32Array;
  /** Columns wanted, at most vocabSize: a padded head's extra rows are left off. */
  V: number;
  /** The forms the caller can take, in its order of preference. */
  accept: readonly TeacherForm[];
  /** The temperature sparse rows are given at (their log-probs re-tempered); logits and hidden
   *  states are raw, the caller applies its temperature. */
  temperature: number;
}

/** One answer: B*T = N rows over the request's V ids. Views owned by the teacher, valid until its next call. */
export type TeacherOutput =
  /** (N,V) raw logits. */
  | { kind: 'logits'; logits: Float32Array }
  /** Final hidden states (N,C) and the head (>= V rows, C): logits = hidden·head[0:V]ᵀ (by
   *  Backend.gemmBf16 with headBf16 when the teacher runs in bf16). */
  | { kind: 'hidden'; hidden: Float32Array; head: Float32Array; headBf16?: Bf16Weight; C: number }
  /** ids (N,k) (-1 = empty slot), logProbs (N,k) at the request's temperature, tail (N) = the mass
   *  outside the ids. */
  | { kind: 'sparse'; ids: Int32Array; logProbs: Float32Array; tail: Float32Array; k: number };

export interface Teacher {
  /** Human-readable source, e.g. 'llama2c-legacy ../shared/data/stories260K/stories260K.bin'. */
  readonly description: string;
  /** Content identity of the teacher ("sha256:..." of a model's config and weights): what an
   *  offline store records and checks. */
  readonly identity: string;
  /** Ids of its distribution (its head size; may exceed the tokenizer's: a padded head). */
  readonly vocabSize: number;
  /** Tokenizer.identity() of the tokenizer its ids mean; null when the source names none (a bare
   *  checkpoint): its ids are then taken to be those of the caller's tokenizer. */
  readonly tokenizerIdentity: string | null;
  /** Largest T it accepts. */
  readonly maxSeqLen: number;
  /** It scores any text (a model, a server); false: only the windows it holds (a store). */
  readonly scoresAnyText: boolean;
  /** Parameters, when known (for reports). */
  readonly params: number | null;
  /** The model it runs in this process, when it is one (a student may be initialised from it). */
  readonly localModel: Model | null;
  /** Whether generate() continues prompts (hard-label and on-policy distillation). */
  readonly canGenerate: boolean;
  /** Next-token distributions for the request's windows; throws TeacherError when it can give
   *  none of the accepted forms or the windows do not fit. */
  predict(req: TeacherRequest): Promise<TeacherOutput>;
  /** Continues a prompt of ids (only when canGenerate). */
  generate?(prompt: readonly number[], options: GenerateOptions): Promise<GenerateResult>;
  /** Frees what the source holds outside the JS heap (another runtime's contexts); present only
   *  where there is such a thing. Whoever opened the teacher calls it once, when done. */
  close?(): Promise<void>;
}

export class TeacherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TeacherError';
  }
}

/** Throws unless a request fits a teacher: sizes, V within its vocabulary, T within its context. */
export function checkRequest(t: Teacher, req: TeacherRequest, maxB: number): void {
  const { B, T, V } = req;
  if (!(Number.isInteger(B) && B >= 1 && B <= maxB)) throw new TeacherError(`teacher ${t.description}: ${B} windows per call, it was opened for 1..${maxB}`);
  if (!(Number.isInteger(T) && T >= 1 && T <= t.maxSeqLen)) throw new TeacherError(`teacher ${t.description}: windows of ${T} tokens, it accepts 1..${t.maxSeqLen}`);
  if (!(Number.isInteger(V) && V >= 1 && V <= t.vocabSize)) throw new TeacherError(`teacher ${t.description}: ${V} ids per row asked, its vocabulary has ${t.vocabSize}`);
  if (req.tokens.length < B * T || req.offsets.length < B) throw new TeacherError(`teacher ${t.description}: ${req.tokens.length} tokens and ${req.offsets.length} offsets for ${B} windows of ${T}`);
}
