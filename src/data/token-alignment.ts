// Byte offsets of two tokenizations of the same text, and their alignment, for cross-tokenizer
// distillation: a student window of ids is turned into text, re-encoded by the teacher's tokenizer,
// and each student position is paired with the teacher position whose context ends at the same
// byte. Pure bookkeeping over the Tokenizer interface; it runs no model and computes no loss.
import { TokenizerError } from './errors.js';
import type { Tokenizer } from './tokenizer.js';

const BYTE_PIECE = /^<0x[0-9A-Fa-f]{2}>$/;

/** One tokenizer's view for alignment: the raw bytes each id adds mid-stream (a leading '▁' as a
 *  space; BOS/EOS/control ids: none, they count as one virtual byte of their own). */
export interface PieceBytes {
  readonly tok: Tokenizer;
  /** Raw bytes of each id, as it decodes after a plain piece (no dummy-prefix stripping). */
  readonly bytes: readonly Uint8Array[];
  /** Whether encode() prepends a space of its own (SentencePiece's dummy prefix). */
  readonly dummyPrefix: boolean;
}

/** A plain-letter piece to decode others after (so no tokenizer treats them as a text's start). */
function anchorOf(tok: Tokenizer): number {
  for (let id = 0; id < tok.vocabSize; id++) {
    if (id === tok.bosId || id === tok.eosId || id === tok.unkId || id === tok.padId) continue;
    if (/^[A-Za-z]+$/.test(Buffer.from(tok.decodeToken(-1, id)).toString('latin1')) && /^[A-Za-z]+$/.test(tok.idToPiece(id))) return id;
  }
  throw new TokenizerError(tok.source, 'no plain-letter piece to decode the others after (needed for byte offsets)');
}

export function pieceBytesOf(tok: Tokenizer): PieceBytes {
  const anchor = anchorOf(tok);
  const bytes: Uint8Array[] = [];
  for (let id = 0; id < tok.vocabSize; id++) {
    bytes.push(id === tok.bosId || id === tok.eosId ? new Uint8Array(0) : tok.decodeToken(anchor, id));
  }
  const a = tok.encode('a');
  const joined = Buffer.concat(a.map((id) => bytes[id])).toString('latin1');
  return { tok, bytes, dummyPrefix: joined === ' a' };
}

/** Start/end byte offsets of each id of `ids` (ids.length each), ids laid end to end; an id that
 *  adds no bytes (BOS, EOS) takes one virtual byte, so that ends are strictly increasing. */
export function byteOffsets(pb: PieceBytes, ids: ArrayLike<number>): { start: Int32Array; end: Int32Array } {
  const start = new Int32Array(ids.length), end = new Int32Array(ids.length);
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    start[i] = at;
    at += Math.max(1, pb.bytes[ids[i]].length);
    end[i] = at;
  }
  return { start, end };
}

/** Student id -> teacher id whose raw bytes are the same (BOS -> BOS, EOS -> EOS), else -1. A byte
 *  piece maps only where no ordinary piece has that byte (on either side). */
export function exactPieceMap(student: PieceBytes, teacher: PieceBytes): Int32Array {
  const key = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  const byBytes = (pb: PieceBytes) => {
    const m = new Map<string, number>();
    for (let id = 0; id < pb.tok.vocabSize; id++) {
      const b = pb.bytes[id];
      if (b.length === 0 || id === pb.tok.unkId) continue;
      const k = key(b), had = m.get(k);
      if (had === undefined || (BYTE_PIECE.test(pb.tok.idToPiece(had)) && !BYTE_PIECE.test(pb.tok.idToPiece(id)))) m.set(k, id);
    }
    return m;
  };
  const s = byBytes(student), t = byBytes(teacher);
  const map = new Int32Array(student.tok.vocabSize).fill(-1);
  for (const [k, sid] of s) { const tid = t.get(k); if (tid !== undefined) map[sid] = tid; }
  const { tok: st } = student, { tok: tt } = teacher;
  if (st.bosId !== null && tt.bosId !== null) map[st.bosId] = tt.bosId;
  if (st.eosId !== null && tt.eosId !== null) map[st.eosId] = tt.eosId;
  return map;
}

/** The alignment of one student window (T+1 ids: T inputs, the last target) with the teacher's
 *  tokenization of the same text. Positions are input positions: position i has seen ids 0..i. */
export interface WindowAlignment {
  /** Teacher ids of the window's text, BOS/EOS where the student has them; at most maxTeacher+1
   *  (maxTeacher inputs and one last target). */
  teacherIds: number[];
  /** Per student position (T): the teacher position whose context ends at the same byte, or -1. */
  aligned: Int32Array;
  /** Per student position: the last teacher position whose context ends at or before it (a
   *  context that is a prefix of the student's), or -1. */
  prefix: Int32Array;
  /** Per student position with aligned >= 0: the teacher position j2 (> aligned) such that the
   *  teacher ids aligned+1..j2 spell exactly the student's target, or -1 (the target ends inside a
   *  teacher piece, or past the teacher window). */
  spanEnd: Int32Array;
}

const isCont = (b: number) => (b & 0xc0) === 0x80;

/** The valid UTF-8 part [a, b) of bytes: leading continuation bytes and a trailing incomplete
 *  sequence (a window cut inside a character) are left out. */
function utf8Range(bytes: Uint8Array): [number, number] {
  let a = 0;
  while (a < bytes.length && a < 3 && isCont(bytes[a])) a++;
  let b = bytes.length, k = b - 1, back = 0;
  while (k >= a && isCont(bytes[k]) && back < 3) { k--; back++; }
  if (k >= a) {
    const lead = bytes[k], need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (need > back + 1) b = k;
  }
  return [a, b];
}

/** End offsets in `text` of the teacher pieces `ids` that spell it, in order; an unknown piece
 *  (<unk>: characters outside the vocabulary) covers whole characters up to where the next piece
 *  matches. Stops early (fewer ends) where the pieces stop spelling the text. */
function pieceEnds(pb: PieceBytes, ids: readonly number[], text: Uint8Array): number[] {
  const ends: number[] = [];
  const matches = (b: Uint8Array, at: number) => at + b.length <= text.length && Buffer.compare(text.subarray(at, at + b.length), b) === 0;
  let at = 0;
  for (let k = 0; k < ids.length; k++) {
    const b = pb.bytes[ids[k]];
    if (ids[k] === pb.tok.unkId || b.length === 0) {
      const next = k + 1 < ids.length ? pb.bytes[ids[k + 1]] : null;
      do { at++; while (at < text.length && isCont(text[at])) at++; } while (at < text.length && next !== null && next.length > 0 && !matches(next, at));
      if (next === null) at = text.length;
    } else if (matches(b, at)) {
      at += b.length;
    } else {
      return ends;
    }
    ends.push(at);
  }
  return ends;
}

/**
 * Aligns `window` (student ids) with the teacher's encoding of its text. Each run of ordinary
 * student pieces between BOS/EOS ids is turned into bytes and encoded by the teacher on its own
 * (its dummy-prefix space, when it adds one, is matched to the text's leading space); BOS/EOS
 * become the teacher's. Text the teacher's pieces do not spell back exactly is left unaligned.
 */
export function alignWindow(student: PieceBytes, teacher: PieceBytes, window: ArrayLike<number>, maxTeacher: number): WindowAlignment {
  const T = window.length - 1;
  const s = byteOffsets(student, window);
  const tIds: number[] = [], tEnd: number[] = [];
  const st = student.tok, tt = teacher.tok;
  let i = 0;
  while (i < window.length) {
    const id = window[i];
    if (student.bytes[id].length === 0) {
      const tid = id === st.bosId ? tt.bosId : id === st.eosId ? tt.eosId : null;
      if (tid !== null) { tIds.push(tid); tEnd.push(s.end[i]); }
      i++;
      continue;
    }
    let j = i;
    while (j < window.length && student.bytes[window[j]].length > 0) j++;
    const seg = Buffer.concat(Array.from({ length: j - i }, (_, k) => student.bytes[window[i + k]]));
    const [a, b] = utf8Range(seg);
    const want = Buffer.from(seg.subarray(a, b));
    const text = want.toString('utf8');
    const drop = teacher.dummyPrefix && text.startsWith(' ') ? 1 : 0;
    const ids = text.length > drop ? tt.encode(text.slice(drop)) : [];
    const expect = teacher.dummyPrefix && drop === 0 ? Buffer.concat([Buffer.from(' '), want]) : want;
    const ends = pieceEnds(teacher, ids, expect);
    const base = s.start[i] + a, shift = expect.length - want.length;
    for (let k = 0; k < ends.length; k++) {
      tIds.push(ids[k]);
      tEnd.push(base + Math.max(0, ends[k] - shift));
    }
    if (ends.length < ids.length) break; // the teacher does not spell this text back: the rest of the window stays unaligned
    i = j;
  }
  const keep = Math.min(tIds.length, maxTeacher + 1);
  tIds.length = keep;
  // Teacher positions are inputs 0..min(keep, maxTeacher)-1; the last kept id is only a target.
  const positions = Math.min(keep, maxTeacher);
  const lastAt = new Map<number, number>();
  for (let j = 0; j < keep; j++) lastAt.set(tEnd[j], j);
  const aligned = new Int32Array(T).fill(-1), prefix = new Int32Array(T).fill(-1), spanEnd = new Int32Array(T).fill(-1);
  let p = -1;
  for (let k = 0; k < T; k++) {
    while (p + 1 < positions && tEnd[p + 1] <= s.end[k]) p++;
    prefix[k] = p;
    const j = lastAt.get(s.end[k]);
    if (j === undefined || j >= positions) continue;
    aligned[k] = j;
    const j2 = lastAt.get(s.end[k + 1]);
    if (j2 !== undefined && j2 > j) spanEnd[k] = j2;
  }
  return { teacherIds: tIds, aligned, prefix, spanEnd };
}

/** The alignment of two whole token streams of the same documents (each BOS + a document's
 *  ids, in the same order: the corpus convention), per student position; teacher positions are
 *  stream positions. Fields as WindowAlignment's. */
export interface StreamAlignment { aligned: Int32Array; prefix: Int32Array; spanEnd: Int32Array }

/**
 * Aligns a student stream with the teacher's stream of the same documents (an offline store
 * made with the teacher's tokenizer), document by document: the student's bytes of a document
 * are the text, the teacher's pieces are walked over it (<unk> as in alignWindow). Throws when
 * the streams do not hold the same number of documents.
 */
export function alignStreams(student: PieceBytes, teacher: PieceBytes, s: ArrayLike<number>, t: ArrayLike<number>): StreamAlignment {
  const sBos = student.tok.bosId, tBos = teacher.tok.bosId;
  const starts = (ids: ArrayLike<number>, bos: number | null) => {
    const out: number[] = [];
    for (let i = 0; i < ids.length; i++) if (ids[i] === bos) out.push(i);
    return out;
  };
  const sd = starts(s, sBos), td = starts(t, tBos);
  if (sd.length !== td.length || sd[0] !== 0 || td[0] !== 0) {
    throw new TokenizerError(teacher.tok.source, `the teacher's token stream holds ${td.length} documents (BOS ${tBos}), the student's ${sd.length} (BOS ${sBos}); they must be the same documents in the same order`);
  }
  // Ends on one axis: each document adds its student bytes plus one virtual byte for its BOS.
  const sEnd = new Float64Array(s.length), tEnd = new Float64Array(t.length).fill(-1);
  let base = 0;
  for (let d = 0; d < sd.length; d++) {
    const s1 = d + 1 < sd.length ? sd[d + 1] : s.length, t1 = d + 1 < td.length ? td[d + 1] : t.length;
    sEnd[sd[d]] = tEnd[td[d]] = base + 1;
    let at = base + 1;
    const parts: Uint8Array[] = [];
    for (let i = sd[d] + 1; i < s1; i++) { const b = student.bytes[s[i]]; parts.push(b); at += b.length; sEnd[i] = at; }
    const text = Buffer.concat(parts);
    const ids = Array.from({ length: t1 - td[d] - 1 }, (_, k) => t[td[d] + 1 + k]);
    // a teacher without the student's dummy-prefix space spells the text from its second byte
    const skip = student.dummyPrefix && !teacher.dummyPrefix && text[0] === 0x20 ? 1 : 0;
    const ends = pieceEnds(teacher, ids, text.subarray(skip));
    for (let k = 0; k < ends.length; k++) tEnd[td[d] + 1 + k] = base + 1 + skip + ends[k];
    base = at;
  }
  const lastAt = new Map<number, number>();
  for (let j = 0; j < t.length; j++) if (tEnd[j] >= 0) lastAt.set(tEnd[j], j);
  const n = s.length;
  const aligned = new Int32Array(n).fill(-1), prefix = new Int32Array(n).fill(-1), spanEnd = new Int32Array(n).fill(-1);
  let p = -1, last = -1; // teacher positions walked; the last one that spells text
  for (let k = 0; k < n; k++) {
    while (p + 1 < t.length && (tEnd[p + 1] < 0 || tEnd[p + 1] <= sEnd[k])) { p++; if (tEnd[p] >= 0) last = p; }
    prefix[k] = last;
    const j = lastAt.get(sEnd[k]);
    if (j === undefined) continue;
    aligned[k] = j;
    const j2 = k + 1 < n ? lastAt.get(sEnd[k + 1]) : undefined;
    if (j2 !== undefined && j2 > j) spanEnd[k] = j2;
  }
  return { aligned, prefix, spanEnd };
}
