// A teacher read from an offline store (src/store/): training rows come from the stored
// positions of each window (TeacherStep asks rowsAt with the batcher's offsets), and logits()
// serves the validation windows, located by content, as dense logits of the stored distribution.
// It runs no model; a store is refused when its tokenizer, vocabulary or corpus differ from the run's.
import type { TokenStream } from '../data/batcher.js';
import type { KdTeacher } from '../engine/backend.js';
import type { TailMode } from '../engine/loss-kinds.js';
import { StoreReader } from '../store/store-reader.js';
import { type Teacher, TeacherError } from './teacher.js';

export interface StoreExpectations {
  tokenizerIdentity: string;
  tokenizerSource: string;
  vocabSize: number;
  corpusIdentity: string;
  /** Identity of the teacher the recipe names, when it names one (teacher.expect). */
  teacherIdentity?: string;
  teacherSource?: string;
}

/** Logit given to ids a sparse row does not hold and whose tail is 0: exp() of it is 0 in f64. */
const ABSENT_LOGIT = -1e4;

export class StoreTeacher implements Teacher {
  readonly vocabSize: number;
  readonly description: string;
  /** Stored rows exist for every position, whatever the window length. */
  readonly maxSeqLen = Number.MAX_SAFE_INTEGER;
  readonly reader: StoreReader;
  private ids = new Int32Array(0);
  private logProbs = new Float32Array(0);
  private tail = new Float32Array(0);
  private dense = new Float32Array(0);
  private cursor = 0;

  constructor(readonly dir: string, private readonly val: TokenStream, expect: StoreExpectations) {
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
    this.description = `store ${dir} (k=${s.k}, p=${s.topP}, ${s.encoding}) of ${s.teacherDescription}`;
  }

  private ensure(N: number): void {
    const k = this.reader.k;
    if (this.tail.length >= N) return;
    this.ids = new Int32Array(N * k);
    this.logProbs = new Float32Array(N * k);
    this.tail = new Float32Array(N);
  }

  /**
   * Sparse rows for B training windows of T inputs starting at train-split positions offsets (B),
   * at `temperature`: as stored when it equals the store's; otherwise re-tempered after
   * truncation (kept log-probs × T_store/T, the tail spread evenly over the ids not kept) and renormalized.
   */
  rowsAt(offsets: Int32Array, B: number, T: number, temperature: number, tailMode: TailMode): KdTeacher {
    const N = B * T, k = this.reader.k;
    this.ensure(N);
    const base = this.reader.splitStart('train'), n = this.reader.splitLength('train');
    for (let b = 0; b < B; b++) {
      const o = offsets[b];
      if (!(o >= 0 && o + T <= n)) throw new TeacherError(`teacher store ${this.dir}: window at train position ${o} of length ${T} is outside the stored ${n} positions`);
      this.reader.readRows(this.ids, this.logProbs, this.tail, b * T, base + o, T);
    }
    this.retemper(N, temperature);
    return { kind: 'sparse', k, tailMode, ids: this.ids.subarray(0, N * k), logProbs: this.logProbs.subarray(0, N * k), tail: this.tail.subarray(0, N) };
  }

  private retemper(N: number, temperature: number): void {
    const s = this.reader.manifest.settings, k = s.k, V = s.vocabSize;
    if (temperature === s.temperature) return;
    const r = s.temperature / temperature;
    for (let i = 0; i < N; i++) {
      let m = 0, mx = -Infinity;
      while (m < k && this.ids[i * k + m] >= 0) { mx = Math.max(mx, r * this.logProbs[i * k + m]); m++; }
      const others = V - m, t = this.tail[i];
      const lu = others > 0 && t > 0 ? r * Math.log(t / others) : -Infinity; // one tail id, re-tempered
      mx = Math.max(mx, lu);
      let z = 0;
      for (let e = 0; e < m; e++) z += Math.exp(r * this.logProbs[i * k + e] - mx);
      const zt = lu === -Infinity ? 0 : others * Math.exp(lu - mx);
      const lz = mx + Math.log(z + zt);
      for (let e = 0; e < m; e++) this.logProbs[i * k + e] = r * this.logProbs[i * k + e] - lz;
      this.tail[i] = zt / (z + zt);
    }
  }

  /**
   * Dense (B*T, V) logits for validation windows (window w = val[w*T .. w*T+T), as evalWindows
   * walks them): the stored distribution at T = 1, ids outside the row sharing the tail evenly.
   * Rows are matched to windows by their tokens; anything else is refused.
   */
  logits(tokens: Int32Array, B: number, T: number): Float32Array {
    const V = this.vocabSize, k = this.reader.k, N = B * T;
    this.ensure(N);
    if (this.dense.length < N * V) this.dense = new Float32Array(N * V);
    const matches = (w: number, b: number) => {
      if ((w + 1) * T > this.val.length) return false;
      for (let t = 0; t < T; t++) if (this.val[w * T + t] !== tokens[b * T + t]) return false;
      return true;
    };
    const base = this.reader.splitStart('val');
    for (let b = 0; b < B; b++) {
      let w = this.cursor;
      if (!matches(w, b)) {
        w = 0;
        if (!matches(w, b)) throw new TeacherError(`teacher store ${this.dir}: logits() serves only validation windows at multiples of T (as evaluation walks them); row ${b} is not one — an offline teacher cannot score new text`);
      }
      this.reader.readRows(this.ids, this.logProbs, this.tail, b * T, base + w * T, T);
      this.cursor = w + 1;
    }
    this.retemper(N, 1);
    for (let i = 0; i < N; i++) {
      let m = 0;
      while (m < k && this.ids[i * k + m] >= 0) m++;
      const t = this.tail[i], lu = V > m && t > 0 ? Math.log(t / (V - m)) : ABSENT_LOGIT;
      this.dense.fill(lu, i * V, (i + 1) * V);
      for (let e = 0; e < m; e++) this.dense[i * V + this.ids[i * k + e]] = this.logProbs[i * k + e];
    }
    return this.dense.subarray(0, N * V);
  }
}
