// Checkpoint readers and writers (src/io/): llama2.c legacy/v1/v2, safetensors, HF folders, distill
// checkpoints, format detection, and one clear error per bad input (naming file and expectation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/io/load-model.js';
import { encodeLlama2c, readLlama2c, writeLlama2c } from '../src/io/llama2c.js';
import { parseSafetensors, readSafetensors, writeSafetensors, halfToFloat } from '../src/io/safetensors.js';
import { readHfFolder, writeHfFolder } from '../src/io/hf.js';
import { loadDistillCheckpoint, saveCheckpoint } from '../src/io/checkpoint.js';
import { loadModelAndTokenizer } from '../src/eval/load-pair.js';
import { corpusSplit } from '../src/eval/perplexity.js';
import { type ModelConfig, buildLayout, paramView, createModel, createActivations, forward, initParams } from '../src/model/index.js';
import { Rng } from '../src/engine/rng.js';
import { selectBackend } from '../src/engine/select.js';
import { assertClose, fixturesDir, loadFixture } from './helpers/fixtures.js';

const STORIES = '../shared/data/stories260K/stories260K.bin';
const tmp = mkdtempSync(join(tmpdir(), 'distill-io-'));
const ref = selectBackend('ref');

const tiny = (over: Partial<ModelConfig> = {}): ModelConfig => ({
  family: 'llama', dim: 16, hiddenDim: 24, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 32, maxSeqLen: 8,
  normEps: 1e-5, ropeTheta: 10000, ropeMode: 'interleaved', tiedEmbeddings: true, qkvBias: false, ...over,
});
const randomParams = (c: ModelConfig, seed: number): Float32Array => {
  const p = initParams(c, new Rng(seed));
  for (let i = 0; i < p.length; i++) p[i] += 0.01 * Math.sin(i); // norms != 1, biases != 0
  return p;
};

const throwsNaming = (fn: () => unknown, file: string, expect: RegExp) => {
  assert.throws(fn, (e: Error) => {
    assert.ok(e.message.includes(file), `message names ${file}: ${e.message}`);
    assert.match(e.message, expect);
    return true;
  });
};

const copyHf = (name: string): string => {
  const d = join(tmp, `hf-${name}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(d);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(fixturesDir, 'hf', name, f), join(d, f));
  return d;
};

test('llama2.c legacy: stories260K loads with the documented config and values', () => {
  // sha256 prefix and config from shared/data/README.md.
  assert.equal(createHash('sha256').update(readFileSync(STORIES)).digest('hex').slice(0, 16), 'b0a507e7ad0f6266');
  const m = readLlama2c(STORIES);
  assert.equal(m.version, 'legacy');
  const c = m.config;
  assert.deepEqual([c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.vocabSize, c.maxSeqLen], [64, 172, 5, 8, 4, 512, 512]);
  assert.equal(c.tiedEmbeddings, true);
  assert.equal(c.ropeMode, 'interleaved');
  assert.equal(m.params.length, 260032);
  // Values read independently with numpy (np.frombuffer(raw, '<f4', offset=28) at llama2.c offsets).
  const L = buildLayout(c);
  assert.equal(paramView(L, m.params, 'tok_embeddings')[0], Math.fround(-0.29474878));
  assert.equal(paramView(L, m.params, 'layers.4.attn_norm')[63], Math.fround(1.064956));
  assert.equal(paramView(L, m.params, 'layers.1.wq')[5 * 64 + 7], Math.fround(0.3602671));
  assert.equal(paramView(L, m.params, 'layers.4.w2')[63 * 172 + 171], Math.fround(-0.0035068716));
  assert.equal(paramView(L, m.params, 'norm')[63], Math.fround(1.7077769));
  const ck = loadCheckpoint(STORIES);
  assert.equal(ck.source, 'llama2c-legacy');
  assert.equal(ck.bytesOnDisk, 1056540);
});

test('llama2.c legacy writer reproduces stories260K: header and weights byte for byte, rope tables to 3e-6', () => {
  const m = readLlama2c(STORIES);
  const bytes = encodeLlama2c(m.config, m.params, 'legacy');
  const orig = readFileSync(STORIES);
  assert.equal(bytes.length, orig.length);
  // Tied head: every weight precedes the rope tables, which run to the end of the file.
  const ropeStart = 28 + 4 * 260032;
  assert.ok(bytes.subarray(0, ropeStart).equals(orig.subarray(0, ropeStart)), 'header and weights');
  // The file's tables were computed in float32 by PyTorch, ours in float64 then rounded: measured max diff 2.3e-6.
  for (let i = ropeStart; i < orig.length; i += 4) assert.ok(Math.abs(bytes.readFloatLE(i) - orig.readFloatLE(i)) < 3e-6, `rope float at byte ${i}`);
});

for (const tied of [true, false]) {
  test(`llama2.c legacy and v1 round trip exactly (tied ${tied}); v2 within half a quantization step`, () => {
    const c = tiny({ tiedEmbeddings: tied });
    const p = randomParams(c, 7);
    for (const v of ['legacy', 1] as const) {
      const f = join(tmp, `tiny-${v}-${tied}.bin`);
      writeLlama2c(f, c, p, v);
      const back = readLlama2c(f);
      assert.equal(back.version, v);
      assert.deepEqual(back.config, c);
      assert.deepEqual(back.params, p);
    }
    const f2 = join(tmp, `tiny-v2-${tied}.bin`);
    writeLlama2c(f2, c, p, 2, 64); // export.py backs 64 off to 16 (dim)
    const back = readLlama2c(f2);
    assert.equal(back.version, 2);
    assert.equal(back.groupSize, 16);
    assert.deepEqual(back.config, c);
    const L = buildLayout(c);
    for (const e of L.entries) {
      const a = paramView(L, back.params, e.name), b = paramView(L, p, e.name);
      if (e.shape.length === 1) { assert.deepEqual(a, b, `${e.name} is kept in fp32`); continue; }
      for (let g = 0; g < e.size / 16; g++) {
        let max = 0;
        for (let i = g * 16; i < g * 16 + 16; i++) max = Math.max(max, Math.abs(b[i]));
        for (let i = g * 16; i < g * 16 + 16; i++) assert.ok(Math.abs(a[i] - b[i]) <= (max / 127) * 0.5 + 1e-7, `${e.name}[${i}] ${a[i]} vs ${b[i]}`);
      }
    }
    assert.equal(loadCheckpoint(f2).source, 'llama2c-v2');
  });
}

test('llama2.c v1/v2 files written by a PyTorch port of export.py: read to the expected params, re-encoded byte for byte', () => {
  // test/fixtures/io/{tiny-v1.bin,tiny-v2.bin,llama2c-exports.*} from /usr/bin/python3 test/fixtures/io/gen-llama2c-exports.py
  for (const fx of loadFixture('io/llama2c-exports').cases) {
    const file = join(fixturesDir, 'io', String(fx.params.file));
    const m = readLlama2c(file);
    assert.equal(m.config.tiedEmbeddings, fx.params.tied);
    assert.deepEqual([m.config.dim, m.config.hiddenDim, m.config.nLayers, m.config.nHeads, m.config.nKvHeads, m.config.vocabSize, m.config.maxSeqLen], [16, 24, 2, 4, 2, 32, 8]);
    assert.deepEqual(m.params, fx.f32('params'), `${fx.name} params`);
    if (m.version === 2) assert.equal(m.groupSize, fx.params.groupSize);
    assert.ok(encodeLlama2c(m.config, m.params, m.version).equals(readFileSync(file)), `${fx.name} re-encoded`);
  }
});

test('safetensors: F32 round trip, F16/BF16 decoded, metadata kept', () => {
  const f = join(tmp, 'rt.safetensors');
  const a = Float32Array.from([1, -2.5, 3e-8, 65504]), b = Float32Array.from([7]);
  writeSafetensors(f, [{ name: 'a', shape: [2, 2], data: a }, { name: 'b', shape: [], data: b }], { k: 'v' });
  const r = readSafetensors(f);
  assert.deepEqual(r.metadata, { k: 'v' });
  assert.deepEqual(r.entries.get('a')!.shape, [2, 2]);
  assert.deepEqual(r.readF32('a'), a);
  assert.deepEqual(r.readF32('b'), b);
  assert.equal(readFileSync(f).readBigUInt64LE(0) % 8n, 0n, 'header padded to 8 bytes');
  // Hand-built F16 and BF16 file: 1.0 = 0x3c00 (f16) / 0x3f80 (bf16); -2 = 0xc000 / 0xc000; f16 0x0001 = 2^-24.
  const header = JSON.stringify({ h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] }, g: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] } });
  const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(header.length));
  const data = Buffer.alloc(10);
  [0x3c00, 0xc000, 0x0001, 0x3f80, 0xc000].forEach((v, i) => data.writeUInt16LE(v, 2 * i));
  const hf = parseSafetensors('mem', Buffer.concat([len, Buffer.from(header), data]));
  assert.deepEqual(Array.from(hf.readF32('h')), [1, -2, 2 ** -24]);
  assert.deepEqual(Array.from(hf.readF32('g')), [1, -2]);
  assert.equal(halfToFloat(0x7bff), 65504);
});

test('HF fixture folders load to the fixture params and give the fixture logits', () => {
  // test/fixtures/hf/* and test/fixtures/models/* both come from scripts/gen-model-fixtures.py.
  for (const [folder, fixture] of [['llama-tiny', 'llama-untied-half'], ['llama-tiny-sharded', 'llama-untied-half'], ['gpt2-tiny', 'gpt2-tied']]) {
    const ck = loadCheckpoint(join(fixturesDir, 'hf', folder));
    assert.equal(ck.source, 'hf');
    const fx = loadFixture(`models/${fixture}`).cases[0];
    for (const k of Object.keys(ck.config) as (keyof ModelConfig)[]) assert.equal(ck.config[k], fx.params[k], `${folder} config.${k}`);
    assert.deepEqual(ck.params, fx.f32('params'), `${folder} params`);
    const [B, T] = fx.shape('inputs');
    const model = createModel(ck.config, ck.params);
    const logits = forward(ref, model, createActivations(ck.config, B, T), fx.i32('inputs'), B, T);
    assertClose(logits, fx.f32('logits'), { atol: 1e-4, rtol: 1e-4 }, `${folder} logits`);
  }
});

test('HF writer: stories260K -> HF folder (q/k rows permuted to half-split rope) -> same logits', () => {
  const m = readLlama2c(STORIES);
  const dir = join(tmp, 'stories-hf');
  writeHfFolder(dir, m.config, m.params);
  const back = loadCheckpoint(dir);
  assert.equal(back.config.ropeMode, 'half');
  assert.equal(back.config.tiedEmbeddings, true);
  const tokens = Int32Array.from([1, 403, 407, 261, 378, 267, 309, 505]);
  const run = (c: ModelConfig, p: Float32Array) => forward(ref, createModel(c, p), createActivations(c, 1, 8), tokens, 1, 8).slice();
  assertClose(run(back.config, back.params), run(m.config, m.params), { atol: 1e-5, rtol: 1e-5 }, 'interleaved vs half logits');
  // GPT-2 and Qwen2-style round trips are exact (transposes and q|k|v fusion only).
  for (const c of [tiny({ family: 'gpt2', nKvHeads: 4, ropeMode: 'half', tiedEmbeddings: false, qkvBias: true }), tiny({ ropeMode: 'half', qkvBias: true, tiedEmbeddings: false })]) {
    const p = randomParams(c, 3);
    const d = join(tmp, `rt-${c.family}`);
    writeHfFolder(d, c, p);
    const r = readHfFolder(d);
    assert.deepEqual(r.config, c);
    assert.deepEqual(r.params, p);
  }
});

test('HF: Mistral and Qwen2 configs over the Llama tensors; a sliding window caps the context', () => {
  const want = loadCheckpoint(join(fixturesDir, 'hf', 'llama-tiny'));
  const d = copyHf('llama-tiny');
  const cfgPath = join(d, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, architectures: ['MistralForCausalLM'], sliding_window: 16 }));
  const m = readHfFolder(d);
  assert.deepEqual(m.config, { ...want.config, maxSeqLen: 16 });
  assert.deepEqual(m.params, want.params);
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, architectures: ['Qwen2ForCausalLM'], sliding_window: 16, use_sliding_window: false }));
  // Qwen2 means q/k/v biases: the llama-tiny folder has none, and the error names the first.
  throwsNaming(() => readHfFolder(d), d, /missing tensor 'model\.layers\.0\.self_attn\.q_proj\.bias' \(expected shape \[32\] from config\.json\)/);
});

test('HF GPT-2 without the transformer. prefix (as the hub\'s gpt2) loads the same', () => {
  const want = loadCheckpoint(join(fixturesDir, 'hf', 'gpt2-tiny'));
  const d = copyHf('gpt2-tiny');
  const st = readSafetensors(join(d, 'model.safetensors'));
  writeSafetensors(join(d, 'model.safetensors'), [...st.entries.values()].map((e) => ({ name: e.name.replace(/^transformer\./, ''), shape: e.shape, data: st.readF32(e.name) })));
  assert.ok(!readSafetensors(join(d, 'model.safetensors')).entries.has('transformer.wte.weight'));
  const m = readHfFolder(d);
  assert.deepEqual(m.config, want.config);
  assert.deepEqual(m.params, want.params);
});

test('distill checkpoint: file and folder round trip, detected by loadCheckpoint', () => {
  const c = tiny({ family: 'gpt2', nKvHeads: 4, ropeMode: 'half', qkvBias: true });
  const p = randomParams(c, 11);
  for (const path of [join(tmp, 'ck.safetensors'), join(tmp, 'ck-dir')]) {
    saveCheckpoint(path, c, p);
    const ck = loadCheckpoint(path);
    assert.equal(ck.source, 'distill');
    assert.deepEqual(ck.config, c);
    assert.deepEqual(ck.params, p);
  }
  assert.deepEqual(loadDistillCheckpoint(join(tmp, 'ck-dir')).params, p);
});

// ---------------------------------------------------------------- bad input: one clear error each

// ---------------------------------------------------------------- bad input: one clear error each

test('truncated llama2.c checkpoint: names the file, expected and actual bytes', () => {
  const f = join(tmp, 'truncated.bin');
  writeFileSync(f, readFileSync(STORIES).subarray(0, 1056540 - 100));
  throwsNaming(() => loadCheckpoint(f), f, /truncated llama2\.c legacy checkpoint: the header implies 1056540 bytes, the file has 1056440/);
  const v1 = join(tmp, 'tiny-1-true.bin'); // written by the round-trip test above
  const cut = join(tmp, 'truncated-v1.bin');
  writeFileSync(cut, readFileSync(v1).subarray(0, 300));
  throwsNaming(() => loadCheckpoint(cut), cut, /truncated llama2\.c v1 checkpoint: the header implies \d+ bytes, the file has 300/);
});

test('wrong magic / unknown format: names the file and the formats expected', () => {
  const f = join(tmp, 'junk.bin');
  writeFileSync(f, Buffer.from('GGML\x03\x00\x00\x00 this is not a llama2.c checkpoint at all'));
  throwsNaming(() => loadCheckpoint(f), f, /unrecognised checkpoint .*expected a Hugging Face folder .*a GGUF file \(magic 'GGUF'\), or a llama2\.c \.bin \(magic 'ak42'/);
  // The GGUF magic sends it to the GGUF reader, whose error names the field (test/gguf.test.ts has the rest).
  const g = join(tmp, 'junk.gguf');
  writeFileSync(g, Buffer.from('GGUF\x03\x00\x00\x00 this is not a GGUF file at all'));
  throwsNaming(() => loadCheckpoint(g), g, /tensor count is \d+ at byte 8, but the file has only 39 bytes/);
  const v9 = join(tmp, 'ak42-v9.bin');
  const b = Buffer.alloc(256); b.writeUInt32LE(0x616b3432, 0); b.writeInt32LE(9, 4);
  writeFileSync(v9, b);
  throwsNaming(() => loadCheckpoint(v9), v9, /version 9; expected version 1 \(fp32\) or 2 \(int8 Q8_0\)/);
  const plain = join(tmp, 'plain.safetensors');
  writeSafetensors(plain, [{ name: 'x', shape: [1], data: new Float32Array(1) }]);
  throwsNaming(() => loadCheckpoint(plain), plain, /not a distill checkpoint: expected __metadata__\.format 'distill-checkpoint'/);
  throwsNaming(() => loadCheckpoint(join(tmp, 'nope.bin')), 'nope.bin', /no such file or folder; expected/);
});

test('bad safetensors: header length, offsets outside the file, unknown dtype', () => {
  const mk = (header: object, dataBytes: number, lenOverride?: bigint) => {
    const h = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8); len.writeBigUInt64LE(lenOverride ?? BigInt(h.length));
    return Buffer.concat([len, h, Buffer.alloc(dataBytes)]);
  };
  assert.throws(() => parseSafetensors('a.safetensors', mk({}, 0, 1n << 40n)), /a\.safetensors: .*header length 1099511627776 does not fit/);
  assert.throws(() => parseSafetensors('b.safetensors', mk({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8)), /b\.safetensors: tensor 'w' ends at data byte 16 but the file holds only 8 data bytes/);
  assert.throws(() => parseSafetensors('c.safetensors', mk({ w: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8)), /c\.safetensors: tensor 'w' has dtype "I64"; expected one of F32, F16, BF16, F64/);
  assert.throws(() => parseSafetensors('d.safetensors', mk({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8)), /d\.safetensors: tensor 'w' \(F32 \[3\]\) spans bytes 0\.\.8; expected 12 bytes/);
});

test('HF: unknown architecture lists the supported ones; shape mismatch and missing tensor are named', () => {
  const d = copyHf('llama-tiny');
  const cfgPath = join(d, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, architectures: ['BertForMaskedLM'] }));
  throwsNaming(() => loadCheckpoint(d), cfgPath, /unsupported architecture \["BertForMaskedLM"\]; expected one of LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel/);
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, intermediate_size: 40 }));
  throwsNaming(() => loadCheckpoint(d), join(d, 'model.safetensors'), /tensor 'model\.layers\.0\.mlp\.gate_proj\.weight' has shape \[48, 32\], but config\.json implies \[40, 32\]/);
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, num_hidden_layers: 3 }));
  throwsNaming(() => loadCheckpoint(d), d, /missing tensor 'model\.layers\.2\.input_layernorm\.weight' \(expected shape \[32\] from config\.json\)/);
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, num_hidden_layers: 1 }));
  throwsNaming(() => loadCheckpoint(d), d, /unexpected tensor\(s\) 'model\.layers\.1\./);
  // A llama2.c header whose sizes disagree with the file (shape mismatch between config and tensors).
  const bad = join(tmp, 'bad-header.bin');
  const b = Buffer.from(readFileSync(STORIES)); b.writeInt32LE(128, 4); // hidden_dim 172 -> 128
  writeFileSync(bad, b);
  throwsNaming(() => loadCheckpoint(bad), bad, /oversized llama2\.c legacy checkpoint: the header implies \d+ bytes, the file has 1056540/);
});

test('missing tokenizer file and empty corpus: named, with what was expected', () => {
  const missing = join(tmp, 'no-such-tokenizer.model');
  throwsNaming(() => loadModelAndTokenizer(STORIES, missing), missing, /no such tokenizer file/);
  const empty = join(tmp, 'empty.txt');
  writeFileSync(empty, '\n\n  \n');
  const { tokenizer } = loadModelAndTokenizer(STORIES, '../shared/data/stories260K/tok512.bin');
  throwsNaming(() => corpusSplit(empty, tokenizer, 'val'), empty, /corpus is empty: no non-blank paragraph/);
  throwsNaming(() => corpusSplit(join(tmp, 'nope.txt'), tokenizer, 'val'), 'nope.txt', /no such corpus file/);
});

test('a flipped header byte or an impossible config is one error naming the file, before any allocation', () => {
  const good = readFileSync(STORIES);
  const at = (name: string, edit: (b: Buffer) => void): string => {
    const b = Buffer.from(good);
    edit(b);
    const p = join(tmp, name);
    writeFileSync(p, b);
    return p;
  };
  // printf '\x98' | dd of=f.bin bs=1 seek=10: n_layers 5 becomes 0x980005 = 9961477.
  const flipped = at('flipped.bin', (b) => { b[10] = 0x98; });
  const t0 = performance.now();
  throwsNaming(() => loadCheckpoint(flipped), 'flipped.bin', /nLayers 9961477 is beyond any real model \(at most 4096\)/);
  // Within the limits but more layers than the file holds: refused from the size arithmetic.
  const many = at('many-layers.bin', (b) => { b.writeInt32LE(4000, 8); });
  throwsNaming(() => loadCheckpoint(many), 'many-layers.bin', /implies \d+ parameters, but its 1056512 bytes after the header holds at most 264128; a corrupt header/);
  assert.ok(performance.now() - t0 < 2000, 'refused at once');
  // A distill checkpoint whose config says 99999999 layers.
  const ck = join(tmp, 'huge-config.safetensors');
  const m = readLlama2c(STORIES);
  saveCheckpoint(ck, m.config, m.params);
  const f = readFileSync(ck);
  const hl = Number(f.readBigUInt64LE(0));
  const header = f.subarray(8, 8 + hl).toString('utf8').replace('\\"nLayers\\":5', '\\"nLayers\\":99999999');
  assert.notEqual(header, f.subarray(8, 8 + hl).toString('utf8'), 'the config was edited');
  const hb = Buffer.from(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  writeFileSync(ck, Buffer.concat([len, hb, f.subarray(8 + hl)]));
  throwsNaming(() => loadCheckpoint(ck), 'huge-config.safetensors', /nLayers 99999999 is beyond any real model/);
});

test('distill checkpoints carry a CRC-32C of their parameters: a flipped data byte is caught; NaN parameters are never written', () => {
  const m = readLlama2c(STORIES);
  const p = join(tmp, 'crc.safetensors');
  saveCheckpoint(p, m.config, m.params);
  assert.deepEqual(loadCheckpoint(p).params, m.params);
  const f = readFileSync(p);
  f[f.length - 1000] ^= 0x01; // one bit of one weight
  writeFileSync(p, f);
  throwsNaming(() => loadCheckpoint(p), 'crc.safetensors', /checksum mismatch: the parameters' CRC-32C is [0-9a-f]{8}, the file recorded [0-9a-f]{8} when it was written; the file is damaged/);
  const bad = m.params.slice();
  bad[300] = NaN;
  bad[301] = Infinity;
  const q = join(tmp, 'nan.safetensors');
  assert.throws(() => saveCheckpoint(q, m.config, bad), /not writing .*nan\.safetensors: 2 of 260032 parameters are NaN or infinite \(the first in 'tok_embeddings'\); the run diverged/);
  assert.equal(existsSync(q), false);
});
