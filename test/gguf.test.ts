// GGUF in and out (src/io/gguf*.ts, src/data/gguf-tokenizer.ts): llama.cpp's own conversion of
// stories260K reads to the same model and vocabulary as the llama2.c originals; corrupt files give
// one FormatError naming file and field; the writer's files read back (exactly for F32, within
// stated bounds for the quantized types), and quant blocks hold the bytes ggml's layout demands.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableBackends, selectBackend } from '../src/engine/select.js';
import { Rng } from '../src/engine/rng.js';
import { FormatError } from '../src/io/errors.js';
import { parseGguf, readGguf, readGgufHeader, type GgufKv } from '../src/io/gguf.js';
import { GgufType } from '../src/io/gguf-format.js';
import { dequantize } from '../src/io/gguf-quant.js';
import { quantize } from '../src/io/gguf-quantize.js';
import { encodeGguf } from '../src/io/gguf-encode.js';
import { writeFileAtomic } from '../src/io/atomic-write.js';
import { readGgufTokenizerMeta, ggufTokenizerKvs, type GgufTokenizerMeta } from '../src/io/gguf-tokenizer-meta.js';
import { readGgufModel } from '../src/io/gguf-model.js';
import { encodeGgufModel, writeGgufModel } from '../src/io/gguf-write.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { ggufTokenizerMetaOf, loadTokenizer, splitParagraphs, TokenizerError } from '../src/data/index.js';
import { type ModelConfig, createActivations, createModel, forward, generate, initParams } from '../src/model/index.js';

const GGUF = '../shared/data/stories260K-gguf/stories260K.gguf';
const BIN = '../shared/data/stories260K/stories260K.bin';
const TOK_MODEL = '../shared/data/stories260K/tok512.model';
const TOK_BIN = '../shared/data/stories260K/tok512.bin';
const STORIES = '../shared/data/tinystories/stories.txt';
const tmp = mkdtempSync(join(tmpdir(), 'distill-gguf-'));
// DISTILL_BACKEND=ref|native narrows the run to one backend (as test/engine-parity.test.ts); unset: all.
const backends = process.env.DISTILL_BACKEND ? [selectBackend(process.env.DISTILL_BACKEND)] : availableBackends();

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
/** fn throws one FormatError whose message names `file` and matches `expect`. */
const formatError = (fn: () => unknown, file: string, expect: RegExp): void => {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof FormatError, `a FormatError, got ${e.name}: ${e.message}`);
    assert.ok(e.message.includes(file), `message names ${file}: ${e.message}`);
    assert.match(e.message, expect);
    return true;
  });
};
/** A real window: the first paragraph of stories.txt with >= T tokens, BOS first (shared/data/README.md convention). */
const realWindow = (T: number): Int32Array => {
  const tok = loadTokenizer(TOK_MODEL);
  const p = splitParagraphs(readFileSync(STORIES, 'utf8')).map((x) => tok.encode(x, { bos: true })).find((ids) => ids.length >= T)!;
  return Int32Array.from(p.slice(0, T));
};

describe('stories260K.gguf (made by llama.cpp) reads as the llama2.c original', () => {
  test('file, metadata and config', () => {
    // sha256 prefix from shared/data/README.md.
    assert.equal(createHash('sha256').update(readFileSync(GGUF)).digest('hex').slice(0, 16), '270cba1bd5109f42');
    const f = readGguf(GGUF);
    assert.equal(f.version, 3);
    assert.equal(f.alignment, 32); // not set in the file: gguf.c's default
    assert.equal(f.tensors.length, 48); // 3 + 9 per block x 5 (its header says 0x30)
    const ck = loadCheckpoint(GGUF);
    assert.equal(ck.source, 'gguf');
    const bin = loadCheckpoint(BIN);
    // Every field as the .bin's, except: llama.cpp's llama2.c converter writes output.weight (a
    // copy of the embedding) and context_length 2048 (metadata dumped by this reader).
    assert.deepEqual(ck.config, { ...bin.config, tiedEmbeddings: false, maxSeqLen: 2048 });
    assert.equal(ck.config.normEps, 1e-5); // stored as f32 9.99999974738e-6; read as the shortest decimal
  });

  test('logits equal stories260K.bin\'s on a real token window (max abs diff <= 1e-6), every backend', () => {
    const tokens = realWindow(64);
    const a = loadCheckpoint(BIN), b = loadCheckpoint(GGUF);
    for (const be of backends) {
      const run = (c: ModelConfig, p: Float32Array): Float32Array => forward(be, createModel(c, p), createActivations(c, 1, 64), tokens, 1, 64).slice();
      const la = run(a.config, a.params), lb = run(b.config, b.params);
      assert.equal(la.length, 64 * 512);
      // Measured 0 on ref and native (the f32 weights are the same bits; same ops in the same order).
      const d = maxAbsDiff(la, lb);
      assert.ok(d <= 1e-6, `${be.name}: max abs logit diff ${d}`);
    }
  });

  test('its tokenizer is tok512: same identity, same ids for real text', () => {
    const g = loadTokenizer(GGUF), m = loadTokenizer(TOK_MODEL), b = loadTokenizer(TOK_BIN);
    assert.equal(g.vocabSize, 512);
    assert.equal(g.bosId, 1);
    assert.equal(g.eosId, 2);
    assert.equal(g.identity(), m.identity());
    assert.equal(g.identity(), b.identity());
    const paragraphs = splitParagraphs(readFileSync(STORIES, 'utf8')).slice(0, 200);
    let n = 0;
    for (const p of paragraphs) {
      const ids = g.encode(p);
      assert.deepEqual(ids, m.encode(p), p.slice(0, 60));
      assert.equal(g.decode(ids), p);
      n += ids.length;
    }
    assert.ok(n > 10000, `${n} tokens compared`);
    // From test/fixtures/tokenizers/tok512-model.json (sentencepiece 0.1.97 on tok512.model).
    assert.deepEqual(g.encode('Once upon a time, there was a little girl named Lily.'), [403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426]);
  });

  test('greedy generation continues "Once upon a time" as shared/data/README.md says', () => {
    const ck = loadCheckpoint(GGUF), tok = loadTokenizer(GGUF);
    const prompt = tok.encode('Once upon a time', { bos: true });
    for (const be of backends) {
      const out = generate(be, createModel(ck.config, ck.params), prompt, { temperature: 0, maxNewTokens: 12, stopIds: [tok.eosId!] });
      assert.ok(tok.decode([...prompt, ...out.tokens]).startsWith('Once upon a time, there was a little girl named Lily.'), `${be.name}: ${tok.decode(out.tokens)}`);
    }
  });
});

describe('corrupt GGUF files: one FormatError naming file and field, no allocation from the header', () => {
  const good = readFileSync(GGUF);
  const at = (s: string, from = 0): number => good.indexOf(Buffer.from(s, 'latin1'), from);
  const embdInfo = at('token_embd.weight', at('llama.attention.layer_norm_rms_epsilon')); // the tensor info, after the metadata
  const mutate = (name: string, edit: (b: Buffer) => void): string => {
    const b = Buffer.from(good);
    edit(b);
    const p = join(tmp, `${name}.gguf`);
    writeFileSync(p, b);
    return p;
  };
  const cases: [string, (b: Buffer) => void, RegExp][] = [
    ['version1', (b) => b.writeUInt32LE(1, 4), /GGUF version 1 is not supported/],
    ['version9', (b) => b.writeUInt32LE(9, 4), /GGUF version 9; expected 2 or 3/],
    ['tensor-count', (b) => b.writeBigUInt64LE(1n << 60n, 8), /tensor count is 1152921504606846976 at byte 8, but the file has only 1185376 bytes \(expected at most 37042\)/],
    ['kv-count', (b) => b.writeBigUInt64LE(0xffffffffffffffffn, 16), /metadata kv count is 18446744073709551615/],
    ['string-length', (b) => b.writeBigUInt64LE(1n << 62n, 24), /metadata key 0 length is 4611686018427387904/],
    ['array-count', (b) => b.writeBigUInt64LE(1n << 40n, 24 + 8 + 21 + 4 + 4), /metadata 'tokenizer\.ggml\.tokens' array count is 1099511627776/],
    ['value-type', (b) => b.writeUInt32LE(77, 24 + 8 + 21), /metadata 'tokenizer\.ggml\.tokens' has value type 77 .* expected one of 0\.\.12/],
    ['n-dims', (b) => b.writeUInt32LE(5, embdInfo + 17), /tensor 'token_embd\.weight' has n_dims 5; expected 1\.\.4/],
    ['dim', (b) => b.writeBigUInt64LE(1n << 40n, embdInfo + 21), /tensor 'token_embd\.weight' dim 0 is 1099511627776/],
    ['dim-product', (b) => b.writeBigUInt64LE(1n << 20n, embdInfo + 29), /tensor 'token_embd\.weight' of shape \[64, 1048576\] F32 needs 268435456 bytes, but the file has only 1185376/],
    ['type', (b) => b.writeUInt32LE(99, embdInfo + 37), /tensor 'token_embd\.weight' has tensor type unknown \(99\)/],
    ['offset-align', (b) => b.writeBigUInt64LE(4n, embdInfo + 41), /tensor 'token_embd\.weight' data offset 4 is not a multiple of the alignment 32/],
    ['arch', (b) => b.write('mamba', at('llama', at('general.architecture')), 'latin1'), /'general\.architecture' is 'mamba', which distill does not run; expected one of llama, mistral, qwen2, gpt2/],
  ];
  for (const [name, edit, expect] of cases) {
    test(name, () => {
      const p = mutate(name, edit);
      formatError(() => loadCheckpoint(p), p, expect);
    });
  }

  test('truncated at many points', () => {
    // Points in the header, the token list, the tensor infos, the data section, and the last byte.
    for (const n of [5, 12, 23, 30, 100, 5000, 13000, embdInfo + 30, 14176, 140000, 600000, good.length - 1]) {
      const p = join(tmp, `trunc-${n}.gguf`);
      writeFileSync(p, good.subarray(0, n));
      formatError(() => parseGguf(p, readFileSync(p)), p, /truncated|needs \d+ bytes|data ends at byte|expected at most|the file has only/);
    }
    const p = join(tmp, 'trunc-data.gguf');
    writeFileSync(p, good.subarray(0, good.length - 1));
    formatError(() => loadCheckpoint(p), p, /tensor 'blk\.4\.ffn_norm\.weight' data ends at byte 1185376 but the file has 1185375/);
  });

  test('a tensor type we do not dequantize is named with its number', () => {
    const p = mutate('q5k', (b) => {
      b.writeUInt32LE(6, embdInfo + 37); // Q5_0: 64 x 512 is 1024 blocks of 22 bytes = 22528 bytes, inside the file
    });
    formatError(() => loadCheckpoint(p), p, /tensor 'token_embd\.weight' has type Q5_0 \(6\), which distill does not dequantize; expected one of F32 \(0\), F16 \(1\), BF16 \(30\)/);
    // The magic is checked by the GGUF reader itself (loadCheckpoint would not call it GGUF).
    const m = mutate('magic', (b) => b.write('GGML', 0, 'latin1'));
    formatError(() => parseGguf(m, readFileSync(m)), m, /not a GGUF file: the first bytes are 47474d4c, expected the magic 'GGUF'/);
  });

  test('the tokenizer reader turns a corrupt file into one TokenizerError naming it', () => {
    const p = mutate('tok-trunc', () => {});
    writeFileSync(p, good.subarray(0, 3000));
    assert.throws(() => loadTokenizer(p), (e: Error) => e instanceof TokenizerError && e.message.startsWith(`${p}: `) && /'tokenizer\.ggml\.tokens' array count is 512 at byte 61, but the file has only 3000 bytes/.test(e.message));
  });
});

describe('quant blocks: ggml byte layouts', () => {
  test('Q8_0: a hand-computed block', () => {
    // x = [-127, -126, ..., -96] / 8: amax 15.875, d = 15.875/127 = 0.125 (f16 0x3000); q = x/d = -127..-96.
    const x = Float32Array.from({ length: 32 }, (_, i) => (i - 127) / 8);
    const b = quantize(8, x);
    assert.equal(b.length, 34);
    assert.deepEqual([b[0], b[1]], [0x00, 0x30]);
    assert.deepEqual(Array.from(b.subarray(2, 6)), [256 - 127, 256 - 126, 256 - 125, 256 - 124]); // int8 -127.. as bytes
    const y = new Float32Array(32);
    dequantize(8, b, y);
    assert.deepEqual(y, x); // exact: every x is a multiple of d
  });

  test('Q4_0: a hand-computed block (low nibbles 0..15, high nibbles 16..31)', () => {
    // x_i = i - 16 for i < 32: the largest magnitude is -16, d = -16 / -8 = 2 (f16 0x4000),
    // q = min(15, trunc(x/d + 8.5)) = trunc(i/2 + 0.5): q_0 = 0, q_1 = 1, q_15 = 8, q_16 = 8, q_31 = 15 (clipped from 16).
    const x = Float32Array.from({ length: 32 }, (_, i) => i - 16);
    const b = quantize(2, x);
    assert.equal(b.length, 18);
    assert.deepEqual([b[0], b[1]], [0x00, 0x40]);
    const q = (i: number): number => Math.min(15, Math.trunc(i / 2 + 0.5));
    for (let j = 0; j < 16; j++) assert.equal(b[2 + j], q(j) | (q(j + 16) << 4), `byte ${j}`);
    assert.equal(b[2], 0x80); // element 0 -> q 0, element 16 -> q 8
    assert.equal(b[17], 0xf8); // element 15 -> q 8, element 31 -> q 15
    const y = new Float32Array(32);
    dequantize(2, b, y);
    for (let i = 0; i < 32; i++) assert.equal(y[i], (q(i) - 8) * 2);
  });

  test('Q4_K: scale/min packing puts sub-block j >= 4 in the nibbles and top bits', () => {
    // All-equal sub-blocks: sub-block j holds the constant c_j = j + 1 (max = min = c_j > 0, so
    // min clamps to 0 and scale = c_j / 15). One element of each is 0 so the range is [0, c_j].
    const x = new Float32Array(256);
    for (let e = 0; e < 256; e++) x[e] = e % 32 === 0 ? 0 : (e >> 5) + 1;
    const b = quantize(12, x);
    assert.equal(b.length, 144);
    const y = new Float32Array(256);
    dequantize(12, b, y);
    // d = (8/15)/63 in f16; sc_j = round((j+1)/15 / d) -> x reconstructs within half a step of d*sc_j.
    for (let e = 0; e < 256; e++) assert.ok(Math.abs(y[e] - x[e]) <= 0.02 * ((e >> 5) + 1) + 1e-3, `element ${e}: ${y[e]} vs ${x[e]}`);
  });

  test('every writable type round-trips random weights within its bound', () => {
    const rng = new Rng(7);
    const x = Float32Array.from({ length: 4096 }, () => rng.nextNormal());
    // Bounds per block of the block's max |x|: half a step, plus f16 rounding of the scale, plus
    // Q4_0's one-step clip at the side opposite the largest value, and for the k-quants the 6/8-bit
    // rounding of the sub-block scales. Measured (seed 7): F16 4.8e-4 rel, Q8_0 0.0039, Q4_0 0.11,
    // Q4_K 0.064, Q6_K 0.017 (fractions of the block's max |x|).
    const bounds: [number, number, number][] = [[1, 1, 2 ** -11], [8, 32, 1 / 254 + 2 ** -10], [2, 32, 1 / 8 + 2 ** -9], [12, 256, 1 / 10], [14, 256, 1 / 40]];
    for (const [type, block, bound] of bounds) {
      const y = new Float32Array(x.length);
      dequantize(type, quantize(type, x), y);
      for (let s = 0; s < x.length; s += block) {
        let amax = 0;
        for (let i = s; i < s + block; i++) amax = Math.max(amax, Math.abs(x[i]));
        for (let i = s; i < s + block; i++) assert.ok(Math.abs(y[i] - x[i]) <= bound * amax, `type ${type} element ${i}: ${y[i]} vs ${x[i]}`);
      }
    }
  });
});

describe('GGUF writer', () => {
  test('stories260K.gguf -> F32 with its tokenizer -> identical params, metadata and vocabulary', () => {
    const f = readGguf(GGUF);
    const m = readGgufModel(GGUF);
    const p = join(tmp, 'stories-f32.gguf');
    writeGgufModel(p, m.config, m.params, { tokenizer: readGgufTokenizerMeta(f), name: 'llama' });
    const back = readGgufModel(p);
    assert.deepEqual(back.config, m.config);
    assert.deepEqual(back.params, m.params);
    for (const key of ['general.architecture', 'llama.context_length', 'llama.embedding_length', 'llama.feed_forward_length', 'llama.attention.head_count',
      'llama.attention.head_count_kv', 'llama.block_count', 'llama.rope.dimension_count', 'llama.attention.layer_norm_rms_epsilon',
      'tokenizer.ggml.model', 'tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type',
      'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.unknown_token_id']) {
      assert.deepEqual(back.file.metadata.get(key), f.metadata.get(key), key);
    }
    assert.equal(back.file.metadata.get('general.alignment')?.value, 32);
    assert.equal(back.file.dataStart % 32, 0);
    for (const t of back.file.tensors) assert.equal(t.offset % 32, 0, t.name);
    assert.equal(loadTokenizer(p).identity(), loadTokenizer(TOK_MODEL).identity());
  });

  test('tokenizer metadata from tok512.model and tok512.bin reads back as the same vocabulary', () => {
    const m = loadCheckpoint(BIN);
    for (const src of [TOK_MODEL, TOK_BIN]) {
      const tok = loadTokenizer(src);
      const p = join(tmp, `tok-${src.endsWith('.bin') ? 'bin' : 'model'}.gguf`);
      writeGgufModel(p, m.config, m.params, { tokenizer: ggufTokenizerMetaOf(tok) });
      const g = loadTokenizer(p);
      assert.equal(g.identity(), tok.identity(), src);
      assert.deepEqual(g.encode('Lily and Tom played in the park.'), tok.encode('Lily and Tom played in the park.'), src);
      // the .bin (tied, llama2.c) writes no output tensor and reads back tied, bit-identical
      const back = loadCheckpoint(p);
      assert.deepEqual(back.config, m.config);
      assert.deepEqual(back.params, m.params);
    }
  });

  test('quantized files: 1-D tensors stay F32, rows the block does not divide fall back, values within bound', () => {
    const m = loadCheckpoint(BIN); // dim 64, hidden 172: ffn_down rows (172) divide by neither 32 nor 256
    const r = writeGgufModel(join(tmp, 'q8.gguf'), m.config, m.params, { type: 'Q8_0' });
    assert.equal(r.tensorTypes['blk.0.attn_norm.weight'], 'F32');
    assert.equal(r.tensorTypes['blk.0.attn_q.weight'], 'Q8_0');
    assert.equal(r.tensorTypes['blk.0.ffn_down.weight'], 'F16');
    assert.equal(r.tensorTypes['blk.0.ffn_gate.weight'], 'Q8_0');
    const f = readGguf(join(tmp, 'q8.gguf'));
    assert.equal(f.metadata.get('general.file_type')?.value, 7); // llama.h LLAMA_FTYPE_MOSTLY_Q8_0
    assert.equal(f.metadata.get('general.quantization_version')?.value, 2);
    // A dim-256 model exercises Q4_K and Q6_K through files.
    const c: ModelConfig = { family: 'llama', dim: 256, hiddenDim: 512, nLayers: 1, nHeads: 4, nKvHeads: 2, vocabSize: 64, maxSeqLen: 16,
      normEps: 1e-5, ropeTheta: 10000, ropeMode: 'interleaved', tiedEmbeddings: true, qkvBias: false };
    const params = initParams(c, new Rng(3));
    for (const [type, rel] of [['Q8_0', 1 / 100], ['Q4_0', 1 / 6], ['Q4_K', 1 / 8], ['Q6_K', 1 / 30]] as const) {
      const p = join(tmp, `k-${type}.gguf`);
      const w = writeGgufModel(p, c, params, { type });
      assert.equal(w.tensorTypes['blk.0.ffn_down.weight'], type);
      const back = loadCheckpoint(p);
      let amax = 0;
      for (const v of params) amax = Math.max(amax, Math.abs(v));
      const d = maxAbsDiff(back.params, params);
      assert.ok(d <= rel * amax && d > 0, `${type}: max abs diff ${d}, max |w| ${amax}`);
    }
  });

  test('gpt2, qwen2 and half-split llama configs round-trip; rotary rows go to the arch\'s order', () => {
    const rng = new Rng(11);
    const base: ModelConfig = { family: 'llama', dim: 32, hiddenDim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 40, maxSeqLen: 16,
      normEps: 1e-6, ropeTheta: 500000, ropeMode: 'half', tiedEmbeddings: false, qkvBias: false };
    const noisy = (c: ModelConfig): Float32Array => {
      const p = initParams(c, rng);
      for (let i = 0; i < p.length; i++) p[i] += 0.02 * rng.nextNormal(); // norms != 1, biases != 0
      return p;
    };
    const tokens = Int32Array.from([1, 5, 9, 3, 7, 2, 30, 11]);
    const be = selectBackend('ref');
    const logits = (c: ModelConfig, p: Float32Array): Float32Array => forward(be, createModel(c, p), createActivations(c, 1, 8), tokens, 1, 8).slice();
    const cases: [string, ModelConfig, string, boolean][] = [
      ['gpt2', { ...base, family: 'gpt2', nKvHeads: 4, qkvBias: true, normEps: 1e-5, ropeTheta: 10000 }, 'gpt2', true], // gpt2 has no rotary: theta reads as the default
      ['qwen2', { ...base, qkvBias: true, tiedEmbeddings: true }, 'qwen2', true],
      ['llama-half', base, 'llama', false], // written with rows permuted to interleaved, read back interleaved
    ];
    for (const [name, c, arch, sameParams] of cases) {
      const p = noisy(c);
      const file = join(tmp, `${name}.gguf`);
      assert.equal(writeGgufModel(file, c, p).arch, arch);
      const back = loadCheckpoint(file);
      assert.deepEqual(back.config, { ...c, ropeMode: arch === 'llama' ? 'interleaved' : c.ropeMode }, name);
      if (sameParams) assert.deepEqual(back.params, p, name);
      else assert.notDeepEqual(back.params, p, name);
      const d = maxAbsDiff(logits(back.config, back.params), logits(c, p));
      // exact params: same logits; permuted rows with the other rope pairing: f32 reassociation only (measured 4e-7)
      assert.ok(d <= 1e-5, `${name}: max abs logit diff ${d}`);
    }
  });

  test('a GPT-2 byte-level BPE vocabulary in GGUF encodes as the tokenizer.json it came from', () => {
    const hfPath = '../shared/data/gpt2-tokenizer/tokenizer.json';
    const j = JSON.parse(readFileSync(hfPath, 'utf8')) as { model: { vocab: Record<string, number>; merges: string[] } };
    const tokens: string[] = [];
    for (const [t, id] of Object.entries(j.model.vocab)) tokens[id] = t;
    // As llama.cpp's converter writes it: tokens, token types (50256 control), merges, pre 'gpt-2'.
    const meta: GgufTokenizerMeta = { model: 'gpt2', pre: 'gpt-2', tokens, tokenTypes: tokens.map((_, id) => (id === 50256 ? 3 : 1)),
      merges: j.model.merges, bosId: 50256, eosId: 50256, unkId: null, padId: null };
    const p = join(tmp, 'gpt2-vocab.gguf');
    writeFileAtomic(p, encodeGguf(ggufTokenizerKvs(meta), []));
    const g = loadTokenizer(p), hf = loadTokenizer(hfPath);
    assert.equal(g.vocabSize, 50257);
    assert.equal(g.eosId, 50256);
    const plain = splitParagraphs(readFileSync(STORIES, 'utf8')).slice(0, 50).join('\n\n') + ' naïve café — 日本';
    const text = plain + ' <|endoftext|>';
    const ids = g.encode(text);
    assert.deepEqual(ids, hf.encode(text));
    assert.equal(ids[ids.length - 1], 50256);
    assert.equal(g.decode(ids), hf.decode(ids));
    assert.equal(g.decode(g.encode(plain)), plain);
    // Another pre-tokenizer is refused by name.
    const q = join(tmp, 'qwen-vocab.gguf');
    writeFileAtomic(q, encodeGguf(ggufTokenizerKvs({ ...meta, pre: 'qwen2' }), []));
    assert.throws(() => loadTokenizer(q), /'tokenizer\.ggml\.pre' is 'qwen2'; distill reads only the GPT-2 pre-tokenizer/);
  });

  test('every metadata value type round-trips through the encoder and reader', () => {
    const kvs: [string, GgufKv][] = [
      ['u8', { type: GgufType.UINT8, value: 200 }], ['i8', { type: GgufType.INT8, value: -100 }],
      ['u16', { type: GgufType.UINT16, value: 60000 }], ['i16', { type: GgufType.INT16, value: -30000 }],
      ['u32', { type: GgufType.UINT32, value: 4000000000 }], ['i32', { type: GgufType.INT32, value: -2000000000 }],
      ['f32', { type: GgufType.FLOAT32, value: 0.1 }], ['bool', { type: GgufType.BOOL, value: true }],
      ['str', { type: GgufType.STRING, value: 'héllo' }], ['u64', { type: GgufType.UINT64, value: 2n ** 63n }],
      ['i64', { type: GgufType.INT64, value: -5 }], ['f64', { type: GgufType.FLOAT64, value: Math.PI }],
      ['arr', { type: GgufType.ARRAY, value: { itemType: GgufType.ARRAY, values: [{ itemType: GgufType.INT16, values: [1, -2] }, { itemType: GgufType.INT16, values: [] }] } }],
      ['general.alignment', { type: GgufType.UINT32, value: 64 }],
    ];
    const data = quantize(0, Float32Array.from([1, 2, 3]));
    const f = parseGguf('mem', encodeGguf(kvs, [{ name: 'a', dims: [3], type: 0, data }, { name: 'b', dims: [3, 1], type: 0, data }]));
    for (const [k, kv] of kvs) assert.deepEqual(f.metadata.get(k), kv, k);
    assert.equal(f.alignment, 64);
    assert.deepEqual(f.tensors.map((t) => [t.offset, f.dataStart % 64]), [[0, 0], [64, 0]]);
    assert.deepEqual(Array.from(f.readF32('b')), [1, 2, 3]);
  });

  test('writer refuses what it cannot write, naming it', () => {
    const m = loadCheckpoint(BIN);
    assert.throws(() => encodeGgufModel(m.config, m.params.subarray(1)), /params has 260031 values, the config's layout needs 260032/);
    assert.throws(() => encodeGgufModel(m.config, m.params, { type: 'Q5_K' as never }), /GGUF tensor type 'Q5_K' is not one the writer supports/);
  });

  test('writer reports each converted tensor (distill export\'s progress line)', () => {
    const m = loadCheckpoint(BIN);
    const calls: [number, number][] = [];
    const r = encodeGgufModel(m.config, m.params, { type: 'Q8_0', onTensor: (i, n) => calls.push([i, n]) });
    const n = Object.keys(r.tensorTypes).length; // 47 for stories260K (5 layers × 9 + embedding + norm)
    assert.equal(n, 47);
    assert.deepEqual(calls, Array.from({ length: n }, (_, i) => [i + 1, n]));
  });
});

test('the vocabulary comes from the metadata bytes alone: a GGUF cut after its header still gives its tokenizer', () => {
  const full = readFileSync('../shared/data/stories260K-gguf/stories260K.gguf');
  const whole = parseGguf('whole', full);
  const dir = mkdtempSync(join(tmpdir(), 'distill-gguf-head-'));
  const cut = join(dir, 'header-only.gguf');
  writeFileSync(cut, full.subarray(0, whole.dataStart + 1000)); // weights mostly missing
  assert.throws(() => readGguf(cut), /header-only\.gguf: tensor 'token_embd\.weight' of shape \[64, 512\] F32 needs 131072 bytes, but the file has only \d+/);
  const head = readGgufHeader(cut);
  assert.deepEqual([...head.metadata.keys()], [...whole.metadata.keys()]);
  assert.equal(loadTokenizer(cut).identity(), loadTokenizer('../shared/data/stories260K/tok512.model').identity());
  // Cut inside the metadata (the token list), the header reader says where it ran out.
  writeFileSync(cut, full.subarray(0, 2000));
  assert.throws(() => readGgufHeader(cut), /header-only\.gguf: .*needs \d+ bytes but the file ends at byte 2000 \(truncated\?\)|header-only\.gguf: .* but the file has only 2000 bytes/);
});
