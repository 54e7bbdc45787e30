// A teacher that runs any GGUF file through node-llama-cpp (llama.cpp's CPU build, loaded only
// when this kind is opened): each window is evaluated on a fresh context sequence, asking for the
// full next-token distribution at every position, which it gives as dense log-probs (exact up to
// fp32) or as sparse top-k rows re-tempered to the request's temperature with their tail mass.
// It holds one llama.cpp context for its lifetime (close() frees it); it does not generate text.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import type { ControlledEvaluateInputItem, Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import { TokenizerError, tokenizerFromGguf } from '../data/index.js';
import { loadLlamaCpp } from './llama-cpp-runtime.js';
import { checkRequest, type Teacher, type TeacherOutput, type TeacherRequest, TeacherError } from './teacher.js';

/** Log-prob given to ids whose fp32 probability underflowed to 0 (true log-prob below about -104):
 *  exp() of it is 0 in f64, and -1e4/T stays negligible at any temperature a recipe uses. */
const ABSENT_LOG_PROB = -1e4;

/**
 * Context settings that keep llama.cpp's attention in fp32, as our engine computes it: llama.cpp's
 * defaults store the KV cache in f16 and (CPU flash attention) multiply in f16, which moved
 * stories260K's probabilities by up to 3.3e-3 against 2.5e-6 with these (test/llama-cpp.test.ts).
 * The window is one token shorter than the context: a full context makes node-llama-cpp shift it
 * (drop the oldest tokens) before the last position is scored.
 */
const EXACT_CONTEXT = { flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' } as const;

export interface LlamaCppTeacherOptions {
  /** The GGUF file. */
  path: string;
  /** Ids kept per sparse row. */
  topK: number;
  /** At most this many windows of at most seqLen tokens per call (the context is sized once). */
  batch: number;
  seqLen: number;
  /** llama.cpp threads (the run's engine threads, so both runtimes are compared on equal terms). */
  threads: number;
}

/** "sha256:<hex>" of the file's bytes, read in 16 MiB pieces. */
function fileIdentity(path: string): string {
  const h = createHash('sha256').update('distill-gguf-file\n');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 24);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return 'sha256:' + h.digest('hex');
}

export class LlamaCppTeacher implements Teacher {
  readonly description: string;
  readonly scoresAnyText = true;
  readonly canGenerate = false;
  readonly localModel = null;
  private identityMemo: string | null = null;
  private ids = new Int32Array(0);
  private logProbs = new Float32Array(0);
  private tail = new Float32Array(0);
  private dense = new Float32Array(0);
  /** One position's probabilities by id (fp32 from llama.cpp), reused. */
  private readonly probs: Float64Array;
  private closed = false;

  private constructor(private readonly llama: Llama, private readonly model: LlamaModel, private readonly context: LlamaContext,
    private readonly sequence: LlamaContextSequence, private readonly opts: LlamaCppTeacherOptions,
    readonly vocabSize: number, readonly tokenizerIdentity: string, readonly maxSeqLen: number, readonly params: number | null) {
    this.description = `llama-cpp ${opts.path}`;
    this.probs = new Float64Array(vocabSize);
  }

  /** Loads node-llama-cpp, the model and one context of (seqLen) tokens; throws TeacherError when any fails. */
  static async open(opts: LlamaCppTeacherOptions): Promise<LlamaCppTeacher> {
    const what = `teacher llama-cpp ${opts.path}`;
    if (!existsSync(opts.path)) throw new TeacherError(`${opts.path}: no such file; the llama-cpp teacher needs a GGUF model file`);
    if (!(Number.isInteger(opts.topK) && opts.topK >= 1)) throw new TeacherError(`${what}: topK must be a positive integer, got ${opts.topK}`);
    const { llama } = await loadLlamaCpp(what);
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: opts.path, gpuLayers: 0 });
    } catch (e) {
      await llama.dispose();
      throw new TeacherError(`${what}: node-llama-cpp could not load it as a GGUF model (${(e as Error).message.split('\n')[0]})`);
    }
    try {
      // The vocabulary as distill reads it (src/data/gguf-tokenizer.ts), so its identity is the one
      // the run's tokenizer has when it is the same vocabulary.
      const vocab = tokenizerFromGguf(opts.path);
      const V = vocab.vocabSize;
      if (opts.seqLen > model.trainContextSize) {
        throw new TeacherError(`${what}: windows of ${opts.seqLen} tokens exceed its context of ${model.trainContextSize} (GGUF context_length); lower train.seqLen`);
      }
      const context = await model.createContext({ ...EXACT_CONTEXT, contextSize: opts.seqLen + 1, batchSize: opts.seqLen, sequences: 1, threads: opts.threads });
      return new LlamaCppTeacher(llama, model, context, context.getSequence(), opts, V, vocab.identity(), model.trainContextSize, model.fileInsights.totalParameters ?? null);
    } catch (e) {
      await model.dispose();
      await llama.dispose();
      throw e instanceof TeacherError ? e : new TeacherError(`${what}: ${e instanceof TokenizerError ? 'its vocabulary: ' : ''}${(e as Error).message.split('\n')[0]}`);
    }
  }

  /** Hash of the GGUF file's bytes (computed once, on first use). */
  get identity(): string {
    this.identityMemo ??= fileIdentity(this.opts.path);
    return this.identityMemo;
  }

  async predict(req: TeacherRequest): Promise<TeacherOutput> {
    if (this.closed) throw new TeacherError(`teacher ${this.description} was closed`);
    checkRequest(this, req, this.opts.batch);
    if (req.T > this.opts.seqLen) throw new TeacherError(`teacher ${this.description}: windows of ${req.T} tokens, it was opened for ${this.opts.seqLen}`);
    const form = req.accept.find((f) => f === 'logits' || f === 'sparse');
    if (!form) throw new TeacherError(`teacher ${this.description} gives logits or sparse rows, the caller accepts only ${req.accept.join(', ')}`);
    if (!(req.temperature > 0)) throw new TeacherError(`teacher ${this.description}: temperature must be > 0, got ${req.temperature}`);
    const { B, T, V } = req, N = B * T, k = Math.min(this.opts.topK, V);
    if (form === 'logits' && this.dense.length < N * V) this.dense = new Float32Array(N * V);
    if (form === 'sparse' && this.tail.length < N * k) {
      this.ids = new Int32Array(N * k);
      this.logProbs = new Float32Array(N * k);
      this.tail = new Float32Array(N);
    }
    for (let b = 0; b < B; b++) {
      const rows = await this.evaluate(req.tokens.subarray(b * T, (b + 1) * T));
      for (let t = 0; t < T; t++) {
        this.readRow(rows[t]);
        if (form === 'logits') this.writeLogProbs(b * T + t, V);
        else this.writeSparse(b * T + t, V, k, req.temperature);
      }
    }
    if (form === 'logits') return { kind: 'logits', logits: this.dense.subarray(0, N * V) };
    return { kind: 'sparse', k, ids: this.ids.subarray(0, N * k), logProbs: this.logProbs.subarray(0, N * k), tail: this.tail.subarray(0, N) };
  }

  /** The next-token distribution after every token of one window, on a cleared sequence. */
  private async evaluate(window: Int32Array): Promise<Map<number, number>[]> {
    await this.sequence.clearHistory();
    for (const id of window) {
      if (!(id >= 0 && id < this.vocabSize)) throw new TeacherError(`teacher ${this.description}: token id ${id} is outside its vocabulary of ${this.vocabSize}`);
    }
    // No sampling options: llama.cpp's greedy chain leaves the logits as they are, and the
    // binding returns the softmax of all of them, sorted by probability.
    const out = await this.sequence.controlledEvaluate(Array.from(window, (id): ControlledEvaluateInputItem => [id as Token, { generateNext: { probabilities: true } }]));
    return Array.from(window, (_, t) => {
      const p = out[t]?.next.probabilities;
      if (!p || p.size !== this.vocabSize) throw new TeacherError(`teacher ${this.description}: llama.cpp gave ${p?.size ?? 0} probabilities at position ${t}, expected ${this.vocabSize}`);
      return p;
    });
  }

  /** One position's probabilities into this.probs, by id. */
  private readRow(p: Map<number, number>): void {
    this.probs.fill(0);
    for (const [id, prob] of p) this.probs[id] = prob;
  }

  /** Dense log-probs of row `row` over ids [0, V), renormalized over them (a cut head). */
  private writeLogProbs(row: number, V: number): void {
    let z = 0;
    for (let i = 0; i < V; i++) z += this.probs[i];
    const lz = Math.log(z), out = this.dense.subarray(row * V, (row + 1) * V);
    for (let i = 0; i < V; i++) out[i] = this.probs[i] > 0 ? Math.log(this.probs[i]) - lz : ABSENT_LOG_PROB;
  }

  /** The k most probable ids < V of row `row`, log-probs at `temperature` (p^(1/T) renormalized), tail = the rest's mass. */
  private writeSparse(row: number, V: number, k: number, temperature: number): void {
    const r = 1 / temperature, p = this.probs;
    let z = 0;
    for (let i = 0; i < V; i++) if (p[i] > 0) z += Math.exp(r * Math.log(p[i]));
    const lz = Math.log(z);
    const ids = this.ids.subarray(row * k, (row + 1) * k), lps = this.logProbs.subarray(row * k, (row + 1) * k);
    // top-k by a partial selection over V (k small): ties go to the lower id.
    ids.fill(-1);
    const top = new Float64Array(k).fill(-Infinity);
    for (let i = 0; i < V; i++) {
      const v = p[i];
      if (!(v > top[k - 1])) continue;
      let j = k - 1;
      while (j > 0 && v > top[j - 1]) { top[j] = top[j - 1]; ids[j] = ids[j - 1]; j--; }
      top[j] = v;
      ids[j] = i;
    }
    let zKept = 0;
    for (let e = 0; e < k; e++) {
      if (ids[e] < 0 || !(top[e] > 0)) { ids[e] = -1; lps[e] = 0; continue; }
      const s = r * Math.log(top[e]);
      lps[e] = s - lz;
      zKept += Math.exp(s);
    }
    this.tail[row] = Math.max(0, (z - zKept) / z);
  }

  /** Frees the context, the model and the binding; predict() throws afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}
