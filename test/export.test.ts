// `distill export` (src/cli/export.ts): a Hugging Face folder that our loader reads back bit-exact
// with the tokenizer files transformers reads, llama2.c files run.c reads (checked against the
// real stories260K.bin), half-split models permuted to llama2.c's interleaved pairs, and every
// refusal made before anything is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HfTokenizer, loadTokenizer, splitParagraphs } from '../src/data/index.js';
import { ggufTokenizerMetaOf } from '../src/data/gguf-tokenizer.js';
import { tokenizerJsonFromLlamaVocab } from '../src/data/tokenizer-json-from-vocab.js';
import { runExport } from '../src/cli/export.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { writeHfFolder } from '../src/io/hf.js';
import { parseGguf, readGgufHeader } from '../src/io/gguf.js';
import { quantizedParams } from '../src/io/quantized-params.js';
import { floatToBf16 } from '../src/io/half.js';
import { readLlama2c } from '../src/io/llama2c.js';
import { type ModelConfig, createActivations, createModel, forward, initParams } from '../src/model/index.js';
import { Rng } from '../src/engine/rng.js';
import { selectBackend } from '../src/engine/select.js';
import { runRecipeFile } from './helpers/run-recipe.js';
import { loadOnnxRuntime } from '../src/teacher/onnx-teacher.js';
import { openTeacher } from '../src/teacher/open-teacher.js';

const M656 = '../shared/data/tinystories-656k';
const STORIES = '../shared/data/stories260K/stories260K.bin';
const tmp = mkdtempSync(join(tmpdir(), 'distill-export-'));
const flags = (format: string, out: string, o: Record<string, unknown> = {}) => ({ format, out, llama2cVersion: 'legacy', ...o });

test('hf: the 656K folder exported reads back bit-exact, with its tokenizer, special tokens and EOS ids', () => {
  const out = join(tmp, 'hf-656k');
  const lines = runExport(M656, flags('hf', out));
  assert.match(lines[0], /hf-656k: hf \(f32\) from \.\.\/shared\/data\/tinystories-656k, folder/);
  assert.deepEqual(readdirSync(out).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
  const a = loadCheckpoint(M656), b = loadCheckpoint(out);
  assert.deepEqual(b.config, a.config);
  assert.deepEqual(b.params, a.params);
  assert.deepEqual(b.eosIds, [2]);
  const ta = loadTokenizer(M656), tb = loadTokenizer(out);
  assert.equal(tb.identity(), ta.identity());
  assert.deepEqual([tb.bosId, tb.eosId, tb.padId, tb.unkId], [1, 2, 0, 0]);
  const gen = JSON.parse(readFileSync(join(out, 'generation_config.json'), 'utf8'));
  assert.deepEqual([gen.bos_token_id, gen.eos_token_id, gen.pad_token_id], [1, 2, 0]);
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual([cfg.architectures, cfg.tie_word_embeddings, cfg.bos_token_id, cfg.eos_token_id], [['LlamaForCausalLM'], true, 1, 2]);
});

test('llama2c: stories260K written back is run.c\'s file: same header and weights, rope tables to 1e-6', () => {
  const out = join(tmp, 'stories.bin');
  runExport(STORIES, flags('llama2c', out));
  const a = readFileSync(STORIES), b = readFileSync(out);
  assert.equal(b.length, a.length);
  // header + weights up to the freq_cis tables (seq_len 512 x head_size/2 4 x 2 float32 at the end
  // of the legacy layout) are byte-identical; the tables are llama2.c's float32 cos/sin, which run.c ignores.
  const tables = 512 * 4 * 2 * 4;
  const firstDiff = a.findIndex((x, i) => x !== b[i]);
  const tableStart = 28 + 4 * (512 * 64 + 5 * 64 + 5 * 64 * 64 * 2 + 5 * 32 * 64 * 2 + 5 * 64 + 5 * 172 * 64 * 3 + 64);
  assert.equal(a.length - tableStart, tables);
  assert.ok(firstDiff === -1 || firstDiff >= tableStart, `first differing byte ${firstDiff}, tables start at ${tableStart}`);
  const fa = new Float32Array(a.buffer.slice(a.byteOffset + tableStart, a.byteOffset + a.length));
  const fb = new Float32Array(b.buffer.slice(b.byteOffset + tableStart, b.byteOffset + b.length));
  let maxDiff = 0;
  for (let i = 0; i < fa.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fa[i] - fb[i]));
  assert.ok(maxDiff < 1e-6, `rope tables differ by ${maxDiff}`);
  const v1 = join(tmp, 'stories-v1.bin');
  runExport(STORIES, flags('llama2c', v1, { llama2cVersion: '1' }));
  const back = readLlama2c(v1);
  assert.equal(back.version, 1);
  assert.deepEqual(back.params, readLlama2c(STORIES).params);
});

test('llama2c: a half-split (Hugging Face) model gets its q/k rows interleaved and computes the same logits', () => {
  const c: ModelConfig = {
    family: 'llama', dim: 32, hiddenDim: 48, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 40, maxSeqLen: 16,
    normEps: 1e-5, ropeTheta: 10000, ropeMode: 'half', tiedEmbeddings: false, qkvBias: false,
  };
  const p = initParams(c, new Rng(11));
  const dir = join(tmp, 'half-src');
  writeHfFolder(dir, c, p);
  const out = join(tmp, 'half.bin');
  runExport(dir, flags('llama2c', out, { llama2cVersion: '1' }));
  const back = readLlama2c(out);
  assert.equal(back.config.ropeMode, 'interleaved');
  const be = selectBackend('ref');
  const tokens = Int32Array.from([1, 5, 9, 13, 2, 30, 7, 21]);
  const run = (cc: ModelConfig, pp: Float32Array) => forward(be, createModel(cc, pp), createActivations(cc, 1, 8), tokens, 1, 8).slice();
  const want = run(c, p), got = run(back.config, back.params);
  let maxDiff = 0;
  for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(want[i] - got[i]));
  assert.ok(maxDiff < 1e-5, `half vs interleaved logits differ by ${maxDiff}`);
});

test('refusals come before any file is written: format, what the format cannot hold, missing tokenizer, existing --out', () => {
  const out = join(tmp, 'refused');
  assert.throws(() => runExport(M656, flags('safetensors', out)), /--format must be one of hf, gguf, onnx, llama2c, got 'safetensors'/);
  assert.throws(() => runExport(M656, flags('llama2c', out)), /cannot export \.\.\/shared\/data\/tinystories-656k as llama2c: llama2\.c fixes normEps 1e-5 and ropeTheta 10000; got 0\.000001 and 10000/);
  assert.throws(() => runExport(STORIES, flags('hf', out)), /cannot export .*stories260K\.bin as hf: a Hugging Face folder needs the tokenizer: give --tokenizer/);
  assert.throws(() => runExport(M656, flags('hf', out, { tokenizer: '../shared/data/gpt2-tokenizer/tokenizer.json' })), /cannot export .* as hf: the tokenizer .*gpt2-tokenizer\/tokenizer\.json has 50257 tokens but the model's embedding only 2048 rows/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(tmp).filter((n) => n.includes('.tmp-')), []);
  const exists = join(tmp, 'hf-656k-again');
  runExport(M656, flags('hf', exists));
  assert.throws(() => runExport(M656, flags('hf', exists)), /hf-656k-again already exists; pass --overwrite to replace it/);
  runExport(M656, flags('hf', exists, { overwrite: true }));
  assert.deepEqual(loadCheckpoint(exists).params, loadCheckpoint(M656).params);
});

test('a run folder exports its newest checkpoint with its recipe\'s tokenizer', async () => {
  const data = join('..', 'shared', 'data');
  const corpus = join(tmp, 'stories.txt');
  writeFileSync(corpus, readFileSync(join(data, 'tinystories', 'stories.txt'), 'utf8').split(/\n\s*\n/).slice(0, 100).join('\n\n'));
  const recipePath = join(tmp, 'exp.yaml');
  writeFileSync(recipePath, `name: exp
outDir: ${join(tmp, 'runs')}
seed: 3
data: {path: ${corpus}, tokenizer: ${join(data, 'stories260K', 'tok512.bin')}, cacheDir: ${join(tmp, 'cache')}}
teacher: {kind: none}
student: {kind: config, dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32, maxSeqLen: 32}
train: {steps: 4, batchSize: 2, seqLen: 16, lr: 0.01, checkpointEvery: 2}
eval: {every: 4, maxWindows: 2}
monitor: {logEvery: 1, progress: false}
`);
  await runRecipeFile({ recipePath });
  const runDir = join(tmp, 'runs', 'exp');
  const out = join(tmp, 'exp.bin');
  const lines = runExport(runDir, flags('llama2c', out, { llama2cVersion: '1' }));
  assert.match(lines[0], /exp\.bin: llama2c \(v1\) from run .*runs\/exp \(step 4\)/);
  assert.deepEqual(readLlama2c(out).params, loadCheckpoint(join(runDir, 'checkpoints', 'step-000004', 'model.safetensors')).params);
  // eval.json records what each GGUF export weighs; the file adds only metadata and the vocabulary.
  const sizes = JSON.parse(readFileSync(join(runDir, 'eval.json'), 'utf8')).student.exportBytes as Record<string, number>;
  assert.deepEqual(Object.keys(sizes), ['F32', 'F16', 'Q8_0', 'Q4_0', 'Q4_K']);
  for (const type of ['F32', 'Q8_0']) {
    const g = join(tmp, `exp-${type}.gguf`);
    runExport(runDir, flags('gguf', g, type === 'F32' ? {} : { quant: type }));
    const extra = statSync(g).size - sizes[type];
    assert.ok(extra > 0 && extra < 16384, `${type}: file ${statSync(g).size} bytes, weights ${sizes[type]}`);
  }
  const hf = join(tmp, 'exp-hf');
  runExport(runDir, flags('hf', hf));
  assert.deepEqual(loadCheckpoint(hf).config.vocabSize, 512);
  assert.equal(loadTokenizer(hf).encode('Once upon a time').length, loadTokenizer(join(data, 'stories260K', 'tok512.bin')).encode('Once upon a time').length);
  assert.throws(() => runExport(join(tmp, 'runs'), flags('llama2c', join(tmp, 'x.bin'))), /runs: folder has neither config\.json nor model\.safetensors/);
});

test('hf from stories260K + tok512: the converted tokenizer.json encodes real text to the same ids, the model the same logits', () => {
  const out = join(tmp, 'hf-260k');
  runExport(STORIES, flags('hf', out, { tokenizer: '../shared/data/stories260K/tok512.model' }));
  assert.deepEqual(readdirSync(out).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
  const cfg = JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8'));
  assert.deepEqual([cfg.bos_token, cfg.eos_token, cfg.unk_token], ['<s>', '</s>', '<unk>']);
  const a = loadCheckpoint(STORIES), b = loadCheckpoint(out);
  const be = selectBackend('ref');
  const tokens = Int32Array.from([1, 403, 407, 261, 378, 267, 309, 505]);
  const run = (ck: typeof a) => forward(be, createModel(ck.config, ck.params), createActivations(ck.config, 1, 8), tokens, 1, 8).slice();
  const la = run(a), lb = run(b);
  for (let i = 0; i < la.length; i++) assert.ok(Math.abs(la[i] - lb[i]) < 1e-5, `logit ${i}`);
  // Both tokenizer sources (the .model and run.c's .bin) convert to a tokenizer.json that encodes
  // and decodes stories.txt's paragraphs as tok512 does.
  for (const src of ['../shared/data/stories260K/tok512.model', '../shared/data/stories260K/tok512.bin']) {
    const dir = join(tmp, `hf-260k-${src.slice(-5)}`);
    runExport(STORIES, flags('hf', dir, { tokenizer: src }));
    const want = loadTokenizer(src), got = loadTokenizer(dir);
    assert.equal(got.kind, 'hf');
    assert.deepEqual([got.bosId, got.eosId, got.unkId], [1, 2, 0]);
    const paragraphs = splitParagraphs(readFileSync('../shared/data/tinystories/stories.txt', 'utf8')).slice(0, 400);
    for (const p of paragraphs) {
      const ids = got.encode(p);
      assert.deepEqual(ids, want.encode(p), p.slice(0, 60));
      assert.equal(got.decode(ids), p);
    }
  }
});

test('the Llama 2 SentencePiece vocabulary (32,000 pieces) converts to a tokenizer.json with the same ids on three corpora', () => {
  const spm = loadTokenizer('../shared/data/llama2c-tokenizer/tokenizer.model');
  const hf = new HfTokenizer('converted', tokenizerJsonFromLlamaVocab(spm.source, ggufTokenizerMetaOf(spm)) as ConstructorParameters<typeof HfTokenizer>[1]);
  for (const f of ['tinyshakespeare/input.txt', 'tinystories/stories.txt', 'wikitext2-tokens/test.txt']) {
    // wikitext's literal "<unk>" is an added token to an HF tokenizer (as transformers' own
    // converted Llama tokenizer treats it), plain text to SentencePiece: left out of the comparison.
    const text = readFileSync(`../shared/data/${f}`, 'utf8').replaceAll('<unk>', 'unk').slice(0, 60000);
    for (const p of splitParagraphs(text).slice(0, 150)) assert.deepEqual(hf.encode(p), spm.encode(p), `${f}: ${p.slice(0, 60)}`);
  }
});

test('gguf: our stories260K GGUF matches llama.cpp\'s converter key by key and tensor by tensor; quantized types load back', () => {
  const out = join(tmp, 'stories.gguf');
  const lines = runExport(STORIES, flags('gguf', out, { tokenizer: '../shared/data/stories260K/tok512.model' }));
  assert.match(lines[0], /stories\.gguf: gguf \(f32\) from .*stories260K\.bin, \d+ bytes/);
  const ref = parseGguf('ref', readFileSync('../shared/data/stories260K-gguf/stories260K.gguf'));
  const ours = parseGguf('ours', readFileSync(out));
  const same = (k: string) => JSON.stringify(ref.metadata.get(k)?.value) === JSON.stringify(ours.metadata.get(k)?.value);
  // The keys llama.cpp reads to build the model and its vocabulary. Not compared: general.name, and
  // llama.context_length (the converter wrote its default 2048; llama2.c's header says 512).
  for (const k of ['general.architecture', 'llama.embedding_length', 'llama.feed_forward_length', 'llama.block_count', 'llama.attention.head_count',
    'llama.attention.head_count_kv', 'llama.rope.dimension_count', 'llama.attention.layer_norm_rms_epsilon', 'tokenizer.ggml.model',
    'tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type', 'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id',
    'tokenizer.ggml.unknown_token_id']) assert.ok(same(k), `metadata ${k}`);
  assert.equal(ours.metadata.get('llama.context_length')?.value, 512);
  // Every tensor we write equals the converter's; it also stored the tied head as output.weight.
  for (const t of ours.tensors) assert.deepEqual(ours.readF32(t.name), ref.readF32(t.name), t.name);
  assert.deepEqual(ref.tensors.map((t) => t.name).filter((n) => !ours.tensorByName.has(n)), ['output.weight']);
  assert.deepEqual(ref.readF32('output.weight'), ours.readF32('token_embd.weight'));
  for (const type of ['f16', 'q8_0', 'q4_0']) {
    const q = join(tmp, `stories-${type}.gguf`);
    runExport(STORIES, flags('gguf', q, { tokenizer: '../shared/data/stories260K/tok512.bin', ...(type === 'f16' ? { dtype: type } : { quant: type }) }));
    const back = loadCheckpoint(q);
    assert.equal(back.source, 'gguf');
    assert.equal(loadTokenizer(q).identity(), loadTokenizer('../shared/data/stories260K/tok512.bin').identity());
    assert.ok(statSync(q).size < statSync(out).size, `${type} is smaller than f32`);
  }
  assert.throws(() => runExport(STORIES, flags('gguf', join(tmp, 'bad.gguf'), { tokenizer: '../shared/data/stories260K/tok512.bin', quant: 'q3_k' })), /--quant must be one of q8_0, q4_0, q4_k, q6_k, got 'q3_k'/);
  assert.throws(() => runExport(STORIES, flags('hf', join(tmp, 'bad'), { tokenizer: '../shared/data/stories260K/tok512.bin', quant: 'q8_0' })), /--quant is for --format gguf; hf holds f32 \/ f16 \/ bf16 \(--dtype\)/);
  // A byte-level BPE tokenizer.json (GPT-2's) has no SentencePiece-style form for GGUF 'llama': refused by name.
  assert.throws(() => ggufTokenizerMetaOf(loadTokenizer('../shared/data/gpt2-tokenizer/tokenizer.json')), /gpt2-tokenizer\/tokenizer\.json: only a Llama-style tokenizer\.json \(BPE with byte_fallback.*can be written into GGUF; this one has model BPE, byte_fallback false/);
});

test('quantized params: F32 is exact, Q8_0 / Q4_0 are what the exported GGUF gives back, within their block error', () => {
  const ck = loadCheckpoint(STORIES);
  assert.deepEqual(quantizedParams(ck.config, ck.params, 'F32').params, ck.params);
  const file = join(tmp, 'stories-q8.gguf');
  runExport(STORIES, flags('gguf', file, { tokenizer: '../shared/data/stories260K/tok512.bin', quant: 'q8_0' }));
  const q8 = quantizedParams(ck.config, ck.params, 'Q8_0');
  assert.deepEqual(q8.params, loadCheckpoint(file).params);
  const q4 = quantizedParams(ck.config, ck.params, 'Q4_0');
  let e8 = 0, e4 = 0, max = 0;
  for (let i = 0; i < ck.params.length; i++) {
    e8 = Math.max(e8, Math.abs(q8.params[i] - ck.params[i]));
    e4 = Math.max(e4, Math.abs(q4.params[i] - ck.params[i]));
    max = Math.max(max, Math.abs(ck.params[i]));
  }
  // One step of a block's scale at most: max|w|/127 for Q8_0, max|w|/8 for Q4_0 (ggml's d = max/-8).
  assert.ok(e8 > 0 && e8 <= max / 127, `q8_0 max error ${e8}`);
  assert.ok(e4 > e8 && e4 <= max / 8, `q4_0 max error ${e4}`);
});

const ortError = await loadOnnxRuntime().then(() => null, (e: Error) => e.message);

test('onnx: stories260K exported in the transformers.js layout opens as an onnx teacher with its tokenizer and gives our logits', { skip: ortError ? `onnxruntime-node cannot load: ${ortError}` : false }, async () => {
  for (const kvCache of [true, false]) {
    const out = join(tmp, `onnx-${kvCache}`);
    const lines = runExport(STORIES, flags('onnx', out, { tokenizer: '../shared/data/stories260K/tok512.model', kvCache }));
    assert.match(lines.join('\n'), kvCache ? /onnx\/model\.onnx \(opset 17, past_key_values in, present out\)/ : /onnx\/model\.onnx \(opset 17\)\n/);
    assert.deepEqual(readdirSync(out).sort(), ['config.json', 'generation_config.json', 'onnx', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.deepEqual([cfg.use_cache, cfg.bos_token_id, cfg.eos_token_id], [kvCache, 1, 2]);
    const tok = loadTokenizer(out); // the converted tokenizer.json: same ids as tok512
    const window = Int32Array.from(tok.encode('Once upon a time, there was a little girl named Lily. She loved to play outside.', { bos: true }));
    const T = window.length;
    const ctx = { be: selectBackend(), tokenizer: tok, batch: 1, seqLen: T, corpus: { train: window, val: window }, processing: { topP: 1, labelSmoothing: 0 }, source: 'export-test' };
    const onnx = (await openTeacher({ kind: 'onnx', path: out }, ctx))!;
    assert.equal(onnx.tokenizerIdentity, tok.identity());
    const got = await onnx.predict({ tokens: window, B: 1, T, split: 'val', offsets: new Int32Array(1), V: 512, accept: ['logits'], temperature: 1 });
    assert.equal(got.kind, 'logits');
    const ck = loadCheckpoint(STORIES);
    const want = forward(selectBackend(), createModel(ck.config, ck.params), createActivations(ck.config, 1, T, { training: false, allLogits: true }), window, 1, T);
    let maxDiff = 0;
    const logits = (got as { logits: Float32Array }).logits;
    for (let i = 0; i < logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(logits[i] - want[i]));
    assert.ok(maxDiff < 1e-4, `kvCache ${kvCache}: max abs logit diff ${maxDiff}`);
    await onnx.close?.();
  }
});

test('hf --dtype f16 / bf16: weights rounded to nearest even, torch_dtype says so; the 656K (bf16 values) round-trips exactly', () => {
  // floatToBf16: 1 + 2^-8 is halfway between bf16 1 and 1 + 2^-7 and goes to the even one (0x3f80);
  // 1 + 3·2^-9 is past halfway and goes up (0x3f81); NaN stays NaN.
  assert.deepEqual([floatToBf16(1 + 2 ** -8), floatToBf16(1 + 3 * 2 ** -9), floatToBf16(-2), floatToBf16(NaN) & 0x7fc0], [0x3f80, 0x3f81, 0xc000, 0x7fc0]);
  const bf = join(tmp, 'hf-656k-bf16');
  runExport(M656, flags('hf', bf, { dtype: 'bf16' }));
  assert.equal(JSON.parse(readFileSync(join(bf, 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
  assert.deepEqual(loadCheckpoint(bf).params, loadCheckpoint(M656).params);
  assert.ok(statSync(join(bf, 'model.safetensors')).size < 0.51 * statSync(join(M656, 'model.safetensors')).size);
  const f16 = join(tmp, 'hf-260k-f16');
  runExport(STORIES, flags('hf', f16, { dtype: 'f16', tokenizer: '../shared/data/stories260K/tok512.bin' }));
  const f32 = join(tmp, 'hf-260k-f32');
  runExport(STORIES, flags('hf', f32, { tokenizer: '../shared/data/stories260K/tok512.bin' })); // the same q/k row order
  const a = loadCheckpoint(f32), b = loadCheckpoint(f16);
  let maxRel = 0;
  for (let i = 0; i < a.params.length; i++) if (Math.abs(a.params[i]) > 1e-3) maxRel = Math.max(maxRel, Math.abs(b.params[i] - a.params[i]) / Math.abs(a.params[i]));
  assert.ok(maxRel > 0 && maxRel <= 2 ** -11, `f16 max relative rounding ${maxRel}`);
  assert.throws(() => runExport(STORIES, flags('gguf', join(tmp, 'x.gguf'), { dtype: 'bf16', tokenizer: '../shared/data/stories260K/tok512.bin' })), /--dtype bf16: the GGUF writer stores f32, f16 or quantized tensors; give --dtype f16 or --quant/);
  assert.throws(() => runExport(STORIES, flags('onnx', join(tmp, 'x'), { dtype: 'f16', tokenizer: '../shared/data/stories260K/tok512.bin' })), /--dtype f16: onnx is written in f32/);
  assert.throws(() => runExport(M656, flags('hf', join(tmp, 'x'), { dtype: 'f8' })), /--dtype must be one of f32, f16, bf16, got 'f8'/);
});

test('a chat template is carried: tokenizer_config.json -> GGUF tokenizer.chat_template -> tokenizer_config.json', () => {
  const src = join(tmp, '656k-chat');
  mkdirSync(src);
  for (const f of readdirSync(M656)) copyFileSync(join(M656, f), join(src, f));
  const template = "{% for m in messages %}<|start_story|>{{ m['content'] }}{% endfor %}";
  const cfg = JSON.parse(readFileSync(join(src, 'tokenizer_config.json'), 'utf8'));
  writeFileSync(join(src, 'tokenizer_config.json'), JSON.stringify({ ...cfg, chat_template: template }));
  const gguf = join(tmp, '656k-chat.gguf');
  runExport(src, flags('gguf', gguf));
  assert.equal(readGgufHeader(gguf).metadata.get('tokenizer.chat_template')?.value, template);
  const back = join(tmp, '656k-chat-hf');
  runExport(gguf, flags('hf', back));
  assert.equal(JSON.parse(readFileSync(join(back, 'tokenizer_config.json'), 'utf8')).chat_template, template);
  const hf = join(tmp, '656k-chat-hf2');
  runExport(src, flags('hf', hf)); // an HF source's own tokenizer_config.json travels as it is
  assert.equal(JSON.parse(readFileSync(join(hf, 'tokenizer_config.json'), 'utf8')).chat_template, template);
});
