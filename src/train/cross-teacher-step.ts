// The teacher side of a micro-batch when teacher and student have different tokenizers
// (recipe loss.crossTokenizer): each student window's text is re-encoded by the teacher's
// tokenizer and aligned by byte offsets (src/data/token-alignment.ts), the teacher runs on its own
// ids, and its log-probs become the cross-tokenizer rows src/distill's loss takes. Whatever the
// teacher's source, it only sees windows of its own ids. It computes no loss.
import { alignStreams, alignWindow, exactPieceMap, pieceBytesOf, type PieceBytes, type StreamAlignment } from '../data/token-alignment.js';
import { defaultShardCacheDir, loadCorpusShards, type Tokenizer } from '../data/index.js';
import { readManifest } from '../store/manifest.js';
import { createCrossRows, fillCrossRows, type CrossAlignment, type CrossRows, type CrossTokenizerMethod } from '../distill/cross-tokenizer-loss.js';
import { type Teacher, TeacherError } from '../teacher/teacher.js';
import { openTeacherTokenizer } from '../teacher/teacher-tokenizer.js';
import type { TokenStream } from '../data/batcher.js';
import type { Recipe } from '../recipe/schema.js';
import { RunError } from './errors.js';

/** What a run needs to distil across tokenizers, made once (run.ts). */
export interface CrossTokenizerSetup {
  method: CrossTokenizerMethod;
  uldWeight: number;
  student: PieceBytes;
  teacher: PieceBytes;
  /** Student id -> teacher id with the same bytes, or -1. */
  map: Int32Array;
  /** A store teacher: its (teacher-token) train stream and that stream's alignment with the
   *  student's train stream; teacher windows are then read from the store, not encoded. */
  stored?: { teacherTrain: TokenStream; align: StreamAlignment };
}

export function createCrossTokenizerSetup(method: CrossTokenizerMethod, uldWeight: number, student: Tokenizer, teacher: Tokenizer): CrossTokenizerSetup {
  const s = pieceBytesOf(student), t = pieceBytesOf(teacher);
  return { method, uldWeight, student: s, teacher: t, map: exactPieceMap(s, t) };
}

/** Student ids whose text probes a foreign teacher server (re-encoded by its tokenizer). */
const PROBE_IDS = 512;

/** loss.crossTokenizer of a recipe, opened: the setup and teacher ids to probe a server with;
 *  undefined when the recipe does not ask for it. Refuses what cannot apply across tokenizers. */
export function openCrossTokenizer(recipe: Recipe, tok: Tokenizer, train: TokenStream, source: string):
  { setup: CrossTokenizerSetup; probe: number[]; teacherCorpus?: { train: TokenStream; val: TokenStream } } | undefined {
  const c = recipe.loss.crossTokenizer;
  if (!c) return undefined;
  const refuse = (key: string, why: string) => { throw new RunError(`${source}: key '${key}': ${why} with loss.crossTokenizer (the teacher's rows are over another vocabulary); remove it`); };
  if (recipe.teacher.kind === 'none') refuse('teacher.kind', 'no teacher to distil from');
  if (recipe.loss.onPolicy) refuse('loss.onPolicy', 'on-policy batches are not aligned');
  if (recipe.loss.kd.kind === 'mse') refuse('loss.kd', 'mse compares logits id by id, which need one vocabulary');
  const p = recipe.loss.teacher;
  if (p.topK !== undefined || p.topP < 1 || p.clip !== undefined || p.labelSmoothing > 0) refuse('loss.teacher', 'teacher logit processing (topK, topP, clip, labelSmoothing) is not applied');
  const teacherTok = openTeacherTokenizer(recipe.teacher, c.teacherTokenizer, source);
  const setup = createCrossTokenizerSetup(c.method, c.uldWeight, tok, teacherTok);
  const n = Math.min(PROBE_IDS, train.length);
  const probe = teacherTok.encode(tok.decode(Array.from({ length: n }, (_, i) => train[i])));
  if (recipe.teacher.kind !== 'store') return { setup, probe };
  // A store holds rows at the positions of the corpus as the teacher's tokenizer cuts it: the same
  // data, tokenized with that tokenizer, and aligned once with the student's stream.
  const d = recipe.data;
  if (d.format !== 'text' && d.format !== 'jsonl') refuse('data.format', `a store holds a token stream; data.format ${d.format} trains on pair rows`);
  const teacherCorpus = loadCorpusShards(d.path, teacherTok, { cacheDir: d.cacheDir ?? defaultShardCacheDir(), format: d.format as 'text' | 'jsonl', field: d.field, valFraction: d.validFraction });
  const t = { train: teacherCorpus.train.tokens, val: teacherCorpus.val.tokens };
  setup.stored = { teacherTrain: t.train, align: alignStreams(setup.student, setup.teacher, train, t.train) };
  return { setup, probe, teacherCorpus: t };
}

export class CrossTeacherStep {
  readonly rows: CrossRows;
  private readonly K: number;
  private readonly tokens: Int32Array;
  private readonly tlp: Float32Array;
  private readonly align: CrossAlignment;
  private readonly offsets: Int32Array;
  /** Teacher window length of this call: T, or a store's whole (shorter) stream. */
  private tq = 0;
  /** Per window: teacher positions holding text (the rest is padding no student row refers to). */
  private readonly used: Int32Array;
  private readonly pad: number;

  constructor(readonly teacher: Teacher, readonly setup: CrossTokenizerSetup, private readonly B: number, private readonly T: number,
    V: number, private readonly ignoreIndex: number) {
    this.K = setup.teacher.tok.vocabSize;
    if (teacher.vocabSize < this.K) throw new TeacherError(`teacher ${teacher.description} has ${teacher.vocabSize} ids, its tokenizer ${setup.teacher.tok.source} ${this.K}`);
    let mapped = 0;
    for (const m of setup.map) if (m >= 0) mapped++;
    const N = B * T;
    this.rows = createCrossRows(N, V, this.K, mapped);
    this.tokens = new Int32Array(N);
    this.tlp = new Float32Array(N * this.K);
    this.offsets = new Int32Array(B);
    this.used = new Int32Array(B);
    this.align = { aligned: new Int32Array(N), prefix: new Int32Array(N), spanEnd: new Int32Array(N), teacherNext: new Int32Array(N) };
    const t = setup.teacher.tok;
    this.pad = t.eosId ?? t.bosId ?? 0;
  }

  /** Cross rows for windows (B rows of T+1 student ids: inputs, then the last target) at train
   *  positions `offsets` (B), and the targets (B*T, ignoreIndex where masked), the teacher's
   *  log-probs at `temperature`. */
  async fill(windows: Int32Array, offsets: Int32Array, targets: Int32Array, temperature: number): Promise<CrossRows> {
    const { B, T, K, align } = this;
    this.tq = T;
    if (this.setup.stored) this.alignStored(offsets);
    else for (let b = 0; b < B; b++) {
      const a = alignWindow(this.setup.student, this.setup.teacher, windows.subarray(b * (T + 1), (b + 1) * (T + 1)), T);
      const base = b * T, ids = a.teacherIds;
      this.used[b] = Math.min(ids.length, T);
      for (let j = 0; j < T; j++) {
        this.tokens[base + j] = j < ids.length ? ids[j] : this.pad;
        align.teacherNext[base + j] = j + 1 < ids.length ? ids[j + 1] : -1;
      }
      for (let i = 0; i < T; i++) {
        align.aligned[base + i] = a.aligned[i] >= 0 ? base + a.aligned[i] : -1;
        align.prefix[base + i] = a.prefix[i] >= 0 ? base + a.prefix[i] : -1;
        align.spanEnd[base + i] = a.spanEnd[i] >= 0 ? base + a.spanEnd[i] : -1;
      }
    }
    return this.rowsFromTeacher(targets, temperature);
  }

  /** A store teacher: each window's teacher rows are the stored ones from the teacher position
   *  aligned with (or a prefix of) its first student position; references past T are dropped. */
  private alignStored(offsets: Int32Array): void {
    const { B, T, align } = this;
    const { teacherTrain: tt, align: sa } = this.setup.stored!;
    const tq = this.tq = Math.min(T, tt.length);
    for (let b = 0; b < B; b++) {
      const o = offsets[b], base = b * T, tb = b * tq;
      const q0 = Math.max(0, Math.min(sa.prefix[o] >= 0 ? sa.prefix[o] : 0, tt.length - tq));
      this.offsets[b] = q0;
      this.used[b] = tq;
      for (let j = 0; j < tq; j++) {
        this.tokens[tb + j] = tt[q0 + j];
        align.teacherNext[tb + j] = q0 + j + 1 < tt.length ? tt[q0 + j + 1] : -1;
      }
      const local = (q: number) => (q >= q0 && q < q0 + tq ? tb + q - q0 : -1);
      for (let i = 0; i < T; i++) {
        const a = local(sa.aligned[o + i]), e = sa.spanEnd[o + i];
        align.aligned[base + i] = a;
        align.prefix[base + i] = local(sa.prefix[o + i]);
        // the span's last predicting row (e − 1) must be in the window too
        align.spanEnd[base + i] = a >= 0 && e >= 0 && local(e - 1) >= 0 ? tb + e - q0 : -1;
      }
    }
  }

  /** Asks the teacher for the windows set up, and fills the rows from its answer. */
  private async rowsFromTeacher(targets: Int32Array, temperature: number): Promise<CrossRows> {
    const { B, K, align, tq: T } = this;
    const N = B * T, tlp = this.tlp;
    const out = await this.teacher.predict({
      tokens: this.tokens.subarray(0, N), B, T, split: 'train', offsets: this.offsets, V: K, accept: ['logits', 'sparse'], temperature,
    });
    if (out.kind === 'logits') {
      const invT = 1 / temperature;
      for (let r = 0; r < N; r++) {
        if (r % T >= this.used[Math.floor(r / T)]) continue;
        const z = out.logits.subarray(r * K, (r + 1) * K), o = tlp.subarray(r * K, (r + 1) * K);
        let mx = -Infinity, s = 0;
        for (let v = 0; v < K; v++) { const x = z[v] * invT; o[v] = x; if (x > mx) mx = x; }
        for (let v = 0; v < K; v++) s += Math.exp(o[v] - mx);
        const l = mx + Math.log(s);
        for (let v = 0; v < K; v++) o[v] -= l;
      }
    } else if (out.kind === 'sparse') {
      tlp.fill(-Infinity);
      for (let r = 0; r < N; r++) {
        for (let e = 0; e < out.k; e++) {
          const id = out.ids[r * out.k + e];
          if (id >= 0) tlp[r * K + id] = out.logProbs[r * out.k + e];
        }
      }
    } else {
      throw new TeacherError(`teacher ${this.teacher.description} answered with ${out.kind} rows; cross-tokenizer distillation takes logits or sparse rows`);
    }
    fillCrossRows(this.rows, tlp, N, align, this.setup.map, targets, this.setup.method, this.ignoreIndex);
    return this.rows;
  }
}
