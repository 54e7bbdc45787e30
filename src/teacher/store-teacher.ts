// A teacher read from an offline store (src/store/): the rows `distill cache` stored for each
// corpus position, found by the windows' split and offsets, as sparse rows re-tempered to the
// temperature asked for, or spread into dense logits for a caller that takes only those. It runs
// no model and scores no new text; a store is refused when its tokenizer, vocabulary, corpus or
// teacher differ from the run's, or when the run asks for processing its truncation fixed.
import type { TokenStream } from '../data/batcher.js';
import { loadCheckpoint } from '../io/load-model.js';
import { corpusIdentity } from '../store/identity.js';
import { StoreReader } from '../store/store-reader.js';
import { teacherIdentity } from './model-identity.js';
import { densifyRows, retemperRowsInPlace } from './sparse-rows.js';
import { checkRequest, type Teacher, type TeacherOutput, type TeacherRequest, TeacherError } from './teacher.js';

export interface StoreExpectations {
  tokenizerIdentity: string;
  tokenizerSource: string;
  vocabSize: number;
  corpusIdentity: string;
  /** Identity of the teacher the recipe names, when it names one (teacher.expect). */
  teacherIdentity?: string;
  teacherSource?: string;
}

/** The teacher-logit processing a run asks for (recipe loss.teacher), as far as a store cares. */
export interface ProcessingAsked { topP: number; topK?: number; clip?: number; labelSmoothing: number }

export class StoreTeacher implements Teacher {
  readonly vocabSize: number;
  readonly description: string;
  readonly identity: string;
  readonly tokenizerIdentity: string;
  /** Stored rows exist for every position, whatever the window length. */
  readonly maxSeqLen = Number.MAX_SAFE_INTEGER;
  readonly scoresAnyText = false;
  readonly canGenerate = false;
  readonly params = null;
  readonly localModel = null;
  readonly reader: StoreReader;
  private ids = new Int32Array(0);
  private logProbs = new Float32Array(0);
  private tail = new Float32Array(0);
  private dense = new Float32Array(0);

  constructor(readonly dir: string, private readonly corpus: { train: TokenStream; val: TokenStream }, expect: StoreExpectations) {
    this.reader = new StoreReader(dir);
    const s = this.reader.manifest.settings;
    if (s.tokenizerIdentity !== expect.tokenizerIdentity) {
      throw new TeacherError(`teacher store ${dir} was made with tokenizer ${s.tokenizerIdentity}, but the recipe's tokenizer ${expect.tokenizerSource} is ${expect.tokenizerIdentity}; cache a store with this tokenizer (distill cache)`);
    }
    if (s.vocabSize !== expect.vocabSize) {
      throw new TeacherError(`teacher store ${dir} holds ids over a vocabulary of ${s.vocabSize}, the student's is ${expect.vocabSize}; cache a store for this vocabulary`);
    }
    if (expect.teacherIdentity !== undefined && s.teacherIdentity !== expect.teacherIdentity) {
      throw new TeacherError(`teacher store ${dir} was made by teacher ${s.teacherDescription} (${s.teacherIdentity}), not by ${expect.teacherSource} (${expect.teacherIdentity}) named in the recipe; cache a store from that teacher or fix teacher.expect`);
    }
    if (this.reader.manifest.corpusIdentity !== expect.corpusIdentity) {
      throw new TeacherError(`teacher store ${dir} was made from token stream ${this.reader.manifest.corpusIdentity}, but the recipe's data tokenizes to ${expect.corpusIdentity}; its positions would not line up — cache a store from this data`);
    }
    const missing = this.reader.missingShards();
    if (missing.length > 0) {
      throw new TeacherError(`teacher store ${dir} is incomplete: ${missing.length} of ${this.reader.manifest.shards.length} shards missing (first: ${missing[0].file}); finish it with \`distill cache\` (same settings, --out ${dir})`);
    }
    this.vocabSize = s.vocabSize;
    this.identity = s.teacherIdentity;
    this.tokenizerIdentity = s.tokenizerIdentity;
    this.description = `store ${dir} (k=${s.k}, p=${s.topP}, ${s.encoding}) of ${s.teacherDescription}`;
  }

  async predict(req: TeacherRequest): Promise<TeacherOutput> {
    checkRequest(this, req, Number.MAX_SAFE_INTEGER);
    const { B, T } = req, N = B * T, k = this.reader.k;
    if (req.V !== this.vocabSize) throw new TeacherError(`teacher store ${this.dir} holds rows over ${this.vocabSize} ids, ${req.V} were asked for`);
    this.read(req);
    this.retemper(N, req.temperature);
    for (const form of req.accept) {
      if (form === 'sparse') {
        return { kind: 'sparse', k, ids: this.ids.subarray(0, N * k), logProbs: this.logProbs.subarray(0, N * k), tail: this.tail.subarray(0, N) };
      }
      if (form === 'logits') return { kind: 'logits', logits: this.densify(N) };
    }
    throw new TeacherError(`teacher store ${this.dir} gives sparse rows or logits, the caller accepts only ${req.accept.join(', ')}`);
  }

  /** The stored rows of the request's windows, after checking they hold the tokens asked for. */
  private read(req: TeacherRequest): void {
    const { B, T, tokens, offsets, split } = req, N = B * T, k = this.reader.k;
    if (this.tail.length < N) {
      this.ids = new Int32Array(N * k);
      this.logProbs = new Float32Array(N * k);
      this.tail = new Float32Array(N);
    }
    const stream = split === 'train' ? this.corpus.train : this.corpus.val;
    const base = this.reader.splitStart(split), n = this.reader.splitLength(split);
    for (let b = 0; b < B; b++) {
      const o = offsets[b];
      if (!(o >= 0 && o + T <= n)) throw new TeacherError(`teacher store ${this.dir}: window at ${split} position ${o} of length ${T} is outside the stored ${n} positions`);
      for (let t = 0; t < T; t++) {
        if (stream[o + t] !== tokens[b * T + t]) throw new TeacherError(`teacher store ${this.dir}: window ${b} does not hold the ${split} tokens at position ${o}; an offline teacher serves only the windows of the corpus it was cached from`);
      }
      this.reader.readRows(this.ids, this.logProbs, this.tail, b * T, base + o, T);
    }
  }

  /** Re-tempers N rows from the store's temperature to `temperature` (sparse-rows.ts). */
  private retemper(N: number, temperature: number): void {
    const s = this.reader.manifest.settings;
    if (temperature !== s.temperature) retemperRowsInPlace(this.ids, this.logProbs, this.tail, N, s.k, s.vocabSize, s.temperature / temperature);
  }

  /** The N rows as dense (N,V) logits (sparse-rows.ts). */
  private densify(N: number): Float32Array {
    const V = this.vocabSize;
    if (this.dense.length < N * V) this.dense = new Float32Array(N * V);
    densifyRows(this.dense, this.ids, this.logProbs, this.tail, N, this.reader.k, V);
    return this.dense.subarray(0, N * V);
  }
}

/** The recipe's loss.teacher keys that need dense logits (so cannot apply to sparse rows), named. */
export function processingOnDenseLogits(p: ProcessingAsked): string[] {
  const fixed: string[] = [];
  if (p.topP !== 1) fixed.push(`loss.teacher.topP (${p.topP})`);
  if (p.topK !== undefined) fixed.push(`loss.teacher.topK (${p.topK})`);
  if (p.clip !== undefined) fixed.push(`loss.teacher.clip (${p.clip})`);
  if (p.labelSmoothing !== 0) fixed.push(`loss.teacher.labelSmoothing (${p.labelSmoothing})`);
  return fixed;
}

/**
 * Opens the store `teacher: {kind: store, path, expect?}` names, with every check a run needs:
 * same tokenizer, vocabulary and token stream as the run, made by the expected teacher when one is
 * named, and no processing asked that its truncation fixed when it was cached.
 */
export function openStoreTeacher(spec: { path: string; expect?: string }, ctx: {
  tokenizer: { identity(): string; source: string; vocabSize: number };
  corpus: { train: TokenStream; val: TokenStream };
  processing: ProcessingAsked;
  source: string;
}): StoreTeacher {
  const fixed = processingOnDenseLogits(ctx.processing);
  if (fixed.length > 0) {
    throw new TeacherError(`${ctx.source}: ${fixed.join(', ')} cannot apply to a stored teacher: its top-p/top-k were fixed by \`distill cache\` (--top-p/--k); remove these keys (loss.teacher.tail still applies)`);
  }
  let expect: { teacherIdentity: string; teacherSource: string } | undefined;
  if (spec.expect !== undefined) {
    const c = loadCheckpoint(spec.expect);
    expect = { teacherIdentity: teacherIdentity(c.config, c.params), teacherSource: spec.expect };
  }
  const tok = ctx.tokenizer;
  return new StoreTeacher(spec.path, ctx.corpus, {
    tokenizerIdentity: tok.identity(), tokenizerSource: tok.source, vocabSize: tok.vocabSize,
    corpusIdentity: corpusIdentity(ctx.corpus.train, ctx.corpus.val), ...expect,
  });
}
