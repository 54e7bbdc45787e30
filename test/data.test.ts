// Corpus, shard and batcher tests: the shared/data/README.md split of stories.txt gives the token
// counts recorded by scripts/gen-tokenizer-fixtures.py, shards round-trip through the cache, and
// batches are reproducible windows of the stream. Bad inputs fail with file (and line) named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturesDir } from './helpers/fixtures.js';
import { loadTokenizer } from '../src/data/load-tokenizer.js';
import { parseJsonl, splitParagraphs, tokenizeCorpus } from '../src/data/corpus.js';
import { loadCorpusShards, readShard, readShardHeader, writeShard, SHARD_HEADER_BYTES } from '../src/data/shards.js';
import { BatchError, evalWindowCount, evalWindows, RandomWindowBatcher } from '../src/data/batcher.js';
import { DataError } from '../src/data/errors.js';
import { checkIsText } from '../src/data/text-check.js';
import { Rng } from '../src/engine/rng.js';

const data = join(fixturesDir, '..', '..', '..', 'shared', 'data');
const stories = join(data, 'tinystories', 'stories.txt');
const tok512bin = loadTokenizer(join(data, 'stories260K', 'tok512.bin'));
const tmp = (): string => mkdtempSync(join(tmpdir(), 'distill-data-'));

interface SplitCase { tokenizer: string; train_tokens: number; val_tokens: number; first_doc: number[]; first_val_doc: number[] }
const split = JSON.parse(readFileSync(join(fixturesDir, 'tokenizers', 'tinystories-split.json'), 'utf8')) as
  { paragraphs: number; train_docs: number; val_docs: number; cases: SplitCase[] };
const splitCase = (name: string): SplitCase => split.cases.find((c) => c.tokenizer === name) as SplitCase;

test('paragraphs split at empty lines, or at whitespace-only lines in a text with no empty line', () => {
  assert.deepEqual(splitParagraphs('a\n\nb'), ['a', 'b']);
  assert.deepEqual(splitParagraphs('a\nstill a\n\n\n\nb \n'), ['a\nstill a', 'b']); // trimmed
  assert.deepEqual(splitParagraphs('a\n \nsame paragraph\n\nb'), ['a\n \nsame paragraph', 'b']); // as in stories.txt
  // no empty line at all: whitespace-only lines separate (WikiText's " " lines)
  assert.deepEqual(splitParagraphs(' \n = Title = \n \n body one\n \t\n body two \n'), ['= Title =', 'body one', 'body two']);
  assert.deepEqual(splitParagraphs('a\r\n\r\nb'), ['a', 'b']);
  assert.deepEqual(splitParagraphs('\n\n  \n\nx\n\n\n  y\t\n\n'), ['x', 'y']);
  assert.deepEqual(splitParagraphs(''), []);
});

// Counts from scripts/gen-tokenizer-fixtures.py (tinystories-split.json), an independent Python count.
test('stories.txt split with tok512.bin: 3,870 + 430 documents, 343,967 + 40,995 tokens; cached on second load', () => {
  assert.deepEqual([split.paragraphs, split.train_docs, split.val_docs], [4300, 3870, 430]);
  const want = splitCase('stories260K/tok512.bin');
  assert.deepEqual([want.train_tokens, want.val_tokens], [343967, 40995]);
  const cacheDir = tmp();
  const first = loadCorpusShards(stories, tok512bin, { cacheDir });
  assert.equal(first.cacheHit, false);
  assert.equal(first.train.tokens.length, want.train_tokens);
  assert.equal(first.val.tokens.length, want.val_tokens);
  assert.deepEqual(Array.from(first.train.tokens.subarray(0, want.first_doc.length)), want.first_doc);
  // The validation split starts with the BOS of document 3,871.
  assert.deepEqual(Array.from(first.val.tokens.subarray(0, want.first_val_doc.length)), want.first_val_doc);
  assert.ok(first.train.tokens instanceof Uint16Array, 'vocab 512 is stored as uint16');
  assert.equal(statSync(first.trainPath).size, SHARD_HEADER_BYTES + 2 * want.train_tokens);
  assert.equal(first.train.identity, tok512bin.identity());
  const bos = first.train.tokens.reduce((n, id) => n + (id === 1 ? 1 : 0), 0);
  assert.equal(bos, 3870); // one BOS per training document, none elsewhere (no EOS)

  const second = loadCorpusShards(stories, tok512bin, { cacheDir });
  assert.equal(second.cacheHit, true);
  assert.equal(second.key, first.key);
  assert.deepEqual(second.train.tokens, first.train.tokens);
  assert.deepEqual(second.val.tokens, first.val.tokens);
  // Other options, other key.
  const other = loadCorpusShards(stories, tok512bin, { cacheDir, valFraction: 0.2 });
  assert.equal(other.cacheHit, false);
  assert.notEqual(other.key, first.key);
  assert.equal(other.val.tokens.length > first.val.tokens.length, true);
  // A cache entry replaced by a folder: one error naming it (not EISDIR).
  rmSync(first.valPath);
  mkdirSync(first.valPath);
  assert.throws(() => loadCorpusShards(stories, tok512bin, { cacheDir }), (e: Error) => e instanceof DataError && e.message.startsWith(`${first.valPath}: a token-shard cache entry is not a file`));
});

test('stories.txt split with tok512.model: 343,964 + 40,994 tokens (it also collapses runs of spaces)', () => {
  const want = splitCase('stories260K/tok512.model');
  const c = tokenizeCorpus(stories, loadTokenizer(join(data, 'stories260K', 'tok512.model')));
  assert.deepEqual([c.trainDocs, c.valDocs, c.train.length, c.val.length], [3870, 430, want.train_tokens, want.val_tokens]);
  assert.deepEqual([want.train_tokens, want.val_tokens], [343964, 40994]);
});

test('JSONL corpora: one document per line from the chosen field', () => {
  const dir = tmp();
  const p = join(dir, 'docs.jsonl');
  const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: i, body: `Story number ${i}.` }));
  writeFileSync(p, lines.join('\n') + '\n\n');
  const c = tokenizeCorpus(p, tok512bin, { field: 'body' });
  assert.deepEqual([c.trainDocs, c.valDocs], [9, 1]);
  const want = tok512bin.encode('Story number 9.', { bos: true });
  assert.deepEqual(Array.from(c.val), want);
  assert.deepEqual(parseJsonl('x.jsonl', '{"text":"a"}\n\n{"text":"b"}', 'text'), ['a', 'b']);
});

test('corpus errors name the file and, for JSONL, the line', () => {
  const dir = tmp();
  const check = (fn: () => unknown, file: string, line: number | undefined, re: RegExp): void => {
    assert.throws(fn, (e: unknown) => e instanceof DataError && e.file === file && e.line === line && re.test(e.message));
  };
  const missing = join(dir, 'nope.txt');
  check(() => tokenizeCorpus(missing, tok512bin), missing, undefined, /no such corpus file/);
  const blank = join(dir, 'blank.txt');
  writeFileSync(blank, '  \n\n \n');
  check(() => tokenizeCorpus(blank, tok512bin), blank, undefined, /corpus is empty/);
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"text":"a"}\n{"txt":"b"}\n');
  check(() => tokenizeCorpus(bad, tok512bin), bad, 2, /bad.jsonl:2: no "text" field \(fields: txt\)/);
  writeFileSync(bad, '{"text":"a"}\n\n{"text": 5}\n');
  check(() => tokenizeCorpus(bad, tok512bin), bad, 3, /field "text" is a number/);
  writeFileSync(bad, '{"text":"a"}\n{"text": "b"\n');
  check(() => tokenizeCorpus(bad, tok512bin), bad, 2, /not valid JSON/);
  const one = join(dir, 'one.txt');
  writeFileSync(one, 'only one paragraph');
  check(() => tokenizeCorpus(one, tok512bin), one, undefined, /only 1 document\(s\)/);
  assert.equal(tokenizeCorpus(one, tok512bin, { valFraction: 0 }).val.length, 0);
});

test('shards: uint32 above 65,536 ids, header checked, other vocabularies refused', () => {
  const dir = tmp();
  const big = { vocabSize: 70000, identity: () => 'sha256:big', encoderIdentity: () => 'sha256:bigenc', source: 'big' };
  const p = join(dir, 'big.tok');
  writeShard(p, [0, 65536, 69999], big);
  const s = readShard(p, big);
  assert.ok(s.tokens instanceof Uint32Array);
  assert.deepEqual(Array.from(s.tokens), [0, 65536, 69999]);
  assert.deepEqual(readShardHeader(p), { count: 3, width: 4, vocabSize: 70000, identity: 'sha256:big', encoderIdentity: 'sha256:bigenc' });
  assert.throws(() => readShard(p, tok512bin), /written with vocabulary sha256:big.*re-tokenize/);
  assert.throws(() => writeShard(join(dir, 'x.tok'), [70000], big), /token 0 is 70000, outside the vocabulary/);
  const cut = join(dir, 'cut.tok');
  writeFileSync(cut, readFileSync(p).subarray(0, SHARD_HEADER_BYTES + 5));
  assert.throws(() => readShard(cut), /truncated or corrupt/);
  const junk = join(dir, 'junk.tok');
  writeFileSync(junk, Buffer.alloc(300, 7));
  assert.throws(() => readShard(junk), (e: unknown) => e instanceof DataError && /not a distill token shard \(expected magic "DSTLTOKS"\)/.test(e.message));
});

test('training batches: seeded, reproducible, each row a contiguous window', () => {
  const n = 50;
  const tokens = Uint32Array.from({ length: n }, (_, i) => i);
  const B = 4, T = 8;
  const a = new RandomWindowBatcher(tokens, B, T, 1234);
  const b = new RandomWindowBatcher(tokens, B, T, 1234);
  const c = new RandomWindowBatcher(tokens, B, T, 99);
  const starts = new Set<number>();
  let differs = false;
  for (let step = 0; step < 200; step++) {
    const x = a.next();
    assert.deepEqual(x, b.next());
    if (!differs && x.some((v, i) => v !== c.next()[i])) differs = true;
    assert.equal(x.length, B * (T + 1));
    for (let r = 0; r < B; r++) {
      const s = x[r * (T + 1)];
      for (let t = 0; t <= T; t++) assert.equal(x[r * (T + 1) + t], s + t);
      starts.add(s);
    }
  }
  assert.ok(differs, 'another seed gives other batches');
  assert.equal(Math.min(...starts), 0);
  assert.equal(Math.max(...starts), n - T - 1); // the last full window is reachable
  assert.throws(() => new RandomWindowBatcher(tokens, B, 50, 1), (e: unknown) => e instanceof BatchError && /50 tokens, fewer than T\+1 = 51/.test(e.message));
  assert.throws(() => new RandomWindowBatcher(tokens, 0, 4, 1), /B must be a positive integer, got 0/);
});

test('eval windows: non-overlapping, every target scored once, short last batch', () => {
  const tokens = Int32Array.from({ length: 23 }, (_, i) => 100 + i);
  const T = 5, B = 3;
  assert.equal(evalWindowCount(tokens.length, T), 4); // floor((23-1)/5)
  const batches = [...evalWindows(tokens, B, T)];
  assert.deepEqual(batches.map((b) => b.rows), [3, 1]);
  const targets: number[] = [];
  let w = 0;
  for (const batch of batches) {
    for (let r = 0; r < batch.rows; r++, w++) {
      const row = Array.from(batch.data.subarray(r * (T + 1), (r + 1) * (T + 1)));
      assert.deepEqual(row, Array.from({ length: T + 1 }, (_, t) => 100 + w * T + t));
      targets.push(...row.slice(1));
    }
  }
  assert.deepEqual(targets, Array.from({ length: 20 }, (_, i) => 101 + i));
  assert.equal(evalWindowCount(5, 5), 0);
});

test('a corpus that is not text is refused naming the file: model files, NUL bytes, invalid UTF-8; every text file at hand passes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'distill-text-'));
  const write = (name: string, b: Uint8Array) => { const p = join(dir, name); writeFileSync(p, b); return p; };
  const tok = loadTokenizer('../shared/data/stories260K/tok512.bin');
  assert.throws(() => tokenizeCorpus('../shared/data/stories260K-gguf/stories260K.gguf', tok), /stories260K\.gguf: is a GGUF model, not a text corpus/);
  assert.throws(() => tokenizeCorpus('../shared/data/stories260K/stories260K.bin', tok), /stories260K\.bin: holds a NUL byte at offset 1: binary, not a text corpus/);
  assert.throws(() => tokenizeCorpus('../shared/data/tinystories-656k/model.safetensors', tok), /model\.safetensors: is a safetensors file, not a text corpus/);
  // Random bytes with no NUL: mostly invalid UTF-8. (Rng(3) bytes in 1..255.)
  const rng = new Rng(3);
  const noise = Uint8Array.from({ length: 20000 }, () => 1 + rng.nextInt(255));
  assert.throws(() => tokenizeCorpus(write('noise.txt', noise), tok), /noise\.txt: \d+ of \d+ characters \([\d.]+ %\) are invalid UTF-8: not a UTF-8 text corpus/);
  // One damaged byte in a real text is tolerated.
  const text = Buffer.from(readFileSync('../shared/data/tinystories/stories.txt', 'utf8').slice(0, 20000));
  text[100] = 0xff;
  assert.ok(tokenizeCorpus(write('damaged.txt', text), tok).train.length > 1000);
  for (const f of ['tinystories/stories.txt', 'tinyshakespeare/input.txt', 'wikitext2-tokens/valid.txt']) checkIsText(f, readFileSync(`../shared/data/${f}`));
  checkIsText('tinystories-train/stories.jsonl', readFileSync('../shared/data/tinystories-train/stories.jsonl'));
});
