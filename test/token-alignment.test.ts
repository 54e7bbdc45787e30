// Byte offsets and the alignment of two real tokenizations (stories260K's tok512 and
// TinyStories-656K's 2,048-piece BPE) on hand-made strings whose spans were worked out by hand:
// leading spaces (tok512 starts its pieces with '▁', the 656K one ends them with it), multi-byte
// characters, byte-fallback pieces, characters the 656K vocabulary lacks (<unk>), and windows that
// start mid-word or mid-character.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fixturesDir } from './helpers/fixtures.js';
import { loadTokenizer } from '../src/data/load-tokenizer.js';
import { alignStreams, alignWindow, byteOffsets, exactPieceMap, pieceBytesOf } from '../src/data/token-alignment.js';

const data = join(fixturesDir, '..', '..', '..', 'shared', 'data');
const student = loadTokenizer(join(data, 'stories260K', 'tok512.bin'));
const teacher = loadTokenizer(join(data, 'tinystories-656k'));
const sp = pieceBytesOf(student), tp = pieceBytesOf(teacher);
const pieces = (tok: typeof student, ids: ArrayLike<number>) => Array.from(ids, (i) => tok.idToPiece(i));

test('piece bytes: the dummy prefix of both, raw bytes with the leading space, BOS/EOS empty', () => {
  assert.equal(sp.dummyPrefix, true);
  assert.equal(tp.dummyPrefix, true);
  assert.equal(Buffer.from(sp.bytes[student.encode('Once')[0]]).toString(), ' Once');
  assert.equal(Buffer.from(tp.bytes[teacher.encode('and x')[0]]).toString(), ' and ');
  assert.equal(sp.bytes[student.bosId!].length, 0);
  assert.equal(tp.bytes[teacher.eosId!].length, 0);
});

test('byte offsets: BOS one virtual byte, a 2-byte piece (é) spans two bytes', () => {
  const ids = student.encode('a café', { bos: true });
  assert.deepEqual(pieces(student, ids), ['\n<s>\n', ' a', ' c', 'a', 'f', 'é']);
  const o = byteOffsets(sp, ids);
  assert.deepEqual([...o.start], [0, 1, 3, 5, 6, 7]);
  assert.deepEqual([...o.end], [1, 3, 5, 6, 7, 9]);
});

test('exact piece map: BOS/EOS map to the teacher\'s, a piece to the piece with the same bytes', () => {
  const m = exactPieceMap(sp, tp);
  assert.equal(m[student.bosId!], teacher.bosId);
  assert.equal(m[student.eosId!], teacher.eosId);
  const f = student.encode('caf').at(-1)!; // 'f', mid-word: the teacher's 'f'
  assert.equal(teacher.idToPiece(m[f]), 'f');
  assert.equal(m[student.encode('Once')[0]], -1); // ' Once': the teacher has no piece with a leading space but '▁'
  // Every mapped pair has the same bytes. Count recorded from this test's own run (135 of 512).
  let n = 0;
  for (let s = 0; s < m.length; s++) if (m[s] >= 0) { n++; assert.ok(Buffer.from(tp.bytes[m[s]]).equals(Buffer.from(sp.bytes[s]))); }
  assert.equal(n, 135);
});

test('alignment: common boundaries, a span the teacher spells in one piece, <unk> for a character it lacks', () => {
  const ids = student.encode('Once upon a time, Lily saw a café.', { bos: true });
  assert.deepEqual(pieces(student, ids), ['\n<s>\n', ' Once', ' upon', ' a', ' time', ',', ' Lily', ' saw', ' a', ' c', 'a', 'f', 'é', '.']);
  const a = alignWindow(sp, tp, ids, 64);
  assert.deepEqual(pieces(teacher, a.teacherIds), ['<|start_story|>', '▁', 'On', 'ce▁', 'upon▁a▁tim', 'e,▁', 'Lily▁', 'saw▁a▁', 'ca', 'f', '<unk>', '.']);
  // Student contexts end at bytes 1 (BOS), 6, 11, 13, 18, 19, 24, 28, 30, 32, 33, 34, 36; the
  // teacher's at 1, 2, 4, 7, 17, 20, 25, 31, 33, 34, 36, 37: common ends 1, 33, 34, 36.
  assert.deepEqual([...a.aligned], [0, -1, -1, -1, -1, -1, -1, -1, -1, -1, 8, 9, 10]);
  assert.deepEqual([...a.prefix], [0, 2, 3, 3, 4, 4, 5, 6, 6, 7, 8, 9, 10]);
  // Targets 'f', 'é', '.' are the teacher's 'f', '<unk>', '.'; ' Once' ends inside 'ce▁'.
  assert.deepEqual([...a.spanEnd], [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 9, 10, 11]);
});

test('alignment: byte-fallback pieces of a multi-byte character, a window starting on a continuation byte', () => {
  const ids = student.encode('naïve 日本 ok');
  assert.deepEqual(pieces(student, ids).slice(0, 6), [' n', 'a', '<0xC3>', '<0xAF>', 've', ' ']);
  const a = alignWindow(sp, tp, ids, 64);
  assert.deepEqual(pieces(teacher, a.teacherIds), ['▁', 'na', '<unk>', 've▁', '<unk>', '▁', 'ok']);
  // 'ï' is two student byte pieces and one teacher <unk>: the context after its first byte aligns
  // with nothing, after its second with the <unk>.
  assert.deepEqual([...a.aligned], [-1, 1, -1, 2, -1, 3, -1, -1, -1, -1, -1, 4, -1]);
  const cut = alignWindow(sp, tp, ids.slice(3), 64); // starts on <0xAF>, the second byte of ï
  assert.deepEqual(pieces(teacher, cut.teacherIds), ['▁', 've▁', '<unk>', '▁', 'ok']);
  assert.deepEqual([...cut.aligned], [0, -1, 1, -1, -1, -1, -1, -1, 2, -1]);
});

test('alignment: a window starting mid-text and a teacher window shorter than the text', () => {
  const ids = student.encode('on the hill').slice(1); // ' the', ' h', 'il', 'l'
  const a = alignWindow(sp, tp, ids, 64);
  assert.deepEqual(pieces(teacher, a.teacherIds), ['▁the▁', 'hill']);
  assert.deepEqual([...a.aligned], [-1, -1, -1]);
  assert.deepEqual([...a.prefix], [-1, 0, 0]);
  const long = student.encode('Once upon a time, Lily saw a café.', { bos: true });
  const short = alignWindow(sp, tp, long, 3); // teacher inputs 0..2, id 3 only as a target
  assert.equal(short.teacherIds.length, 4);
  assert.deepEqual([...short.aligned], [0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1]);
  assert.equal(Math.max(...short.prefix), 2);
});

test('stream alignment (a store\'s positions) agrees with window alignment on windows that start at a document', () => {
  const docs = ['Once upon a time, Lily saw a café.', 'naïve 日本 ok', 'on the hill, a big dog ran.'];
  const s: number[] = [], t: number[] = [];
  for (const d of docs) { s.push(...student.encode(d, { bos: true })); t.push(...teacher.encode(d, { bos: true })); }
  const st = alignStreams(sp, tp, s, t);
  let at = 0, checked = 0;
  for (const d of docs) {
    const n = student.encode(d, { bos: true }).length;
    const w = alignWindow(sp, tp, s.slice(at, Math.min(s.length, at + n + 1)), 64);
    const q0 = st.aligned[at]; // the document's BOS
    assert.equal(t[q0], teacher.bosId);
    for (let i = 0; i < w.aligned.length; i++, checked++) {
      assert.equal(st.aligned[at + i], w.aligned[i] >= 0 ? q0 + w.aligned[i] : -1, `doc at ${at}, position ${i}`);
      assert.equal(st.spanEnd[at + i], w.spanEnd[i] >= 0 ? q0 + w.spanEnd[i] : -1, `doc at ${at}, position ${i}`);
    }
    at += n;
  }
  assert.equal(checked, s.length - 1);
  assert.throws(() => alignStreams(sp, tp, s, t.slice(0, t.lastIndexOf(teacher.bosId!))), /2 documents .* 3/);
});
