// Hugging Face folders as they are found in the wild (issue 12): the real TinyStories-656K folder
// (tied matrix stored once as lm_head.weight, aliased in __metadata__), variants of it written the
// other ways real checkpoints are (no alias, embed only, bf16, f16, sharded), special tokens from
// special_tokens_map.json > tokenizer_config.json, generation's EOS ids from generation_config.json
// > config.json, and the model's greedy text from BOS against an independent numpy forward pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../src/data/index.js';
import { availableBackends } from '../src/engine/select.js';
import { evaluatePerplexity, corpusSplitWithBytes } from '../src/eval/perplexity.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { toHalf } from '../src/store/codec.js';
import { createActivations, createModel, forward, generate } from '../src/model/index.js';
import { splitParagraphs } from '../src/data/corpus.js';
import { documentTokenBytes } from '../src/eval/text-bytes.js';
import { fixturesDir } from './helpers/fixtures.js';

const M656 = '../shared/data/tinystories-656k';
const STORIES = '../shared/data/tinystories/stories.txt';
const tmp = mkdtempSync(join(tmpdir(), 'distill-hf-wild-'));
// scripts/ref-generate-tinystories656k.py (float64 numpy): greedy ids from BOS, logits after BOS.
const greedy = JSON.parse(readFileSync(join(fixturesDir, 'hf', 'tinystories656k-greedy.json'), 'utf8')) as { ids: number[]; logitsAfterBos: number[]; minTop2Margin: number };

type Dtype = 'F32' | 'F16' | 'BF16';
interface T { name: string; shape: number[]; data: Float32Array }

/** A safetensors file in any of the three dtypes (bf16 by truncation, as the values are checked against the same rounding). */
function safetensorsBytes(tensors: T[], dtype: Dtype, metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const parts: Buffer[] = [];
  let off = 0;
  for (const t of tensors) {
    const n = t.data.length;
    const b = Buffer.alloc(dtype === 'F32' ? 4 * n : 2 * n);
    if (dtype === 'F32') Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(b);
    else {
      const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, n);
      for (let i = 0; i < n; i++) b.writeUInt16LE(dtype === 'BF16' ? bits[i] >>> 16 : toHalf(t.data[i]), 2 * i);
    }
    header[t.name] = { dtype, shape: t.shape, data_offsets: [off, off + b.length] };
    parts.push(b);
    off += b.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...parts]);
}

const original = parseSafetensors(join(M656, 'model.safetensors'), readFileSync(join(M656, 'model.safetensors')));
const originalTensors = (): T[] => [...original.entries.values()].map((e) => ({ name: e.name, shape: e.shape, data: original.readF32(e.name) }));

/** A copy of the 656K folder with model.safetensors replaced by `files` (name -> bytes) and config.json edited. */
function variant(name: string, files: Record<string, Buffer | string>, config: (c: Record<string, unknown>) => void = () => {}): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(M656, 'config.json'), 'utf8')) as Record<string, unknown>;
  config(cfg);
  writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
  for (const [f, b] of Object.entries(files)) writeFileSync(join(d, f), b);
  return d;
}

const base = loadCheckpoint(M656);

test('the real 656K folder loads: the tied matrix is found through the __metadata__ alias; EOS ids from its files', () => {
  assert.equal(base.source, 'hf');
  assert.equal(base.config.tiedEmbeddings, true);
  assert.equal(base.config.vocabSize, 2048);
  assert.equal(base.params.length, 656000); // 2048*128 + 2 layers * (2*128 + 128*128*2 + 64*128*2 + 3*384*128) + 128
  assert.deepEqual(base.eosIds, [2]); // generation_config.json eos_token_id
  assert.deepEqual(original.metadata, { format: 'pt', 'model.embed_tokens.weight': 'lm_head.weight' });
});

test('656K: greedy text from BOS equals an independent numpy forward pass, on every backend', () => {
  const tok = loadTokenizer(join(M656, 'tokenizer.json'));
  assert.ok(greedy.minTop2Margin > 0.01, `fixture margin ${greedy.minTop2Margin}: f32 can reproduce the float64 argmaxes`);
  for (const be of availableBackends()) {
    const model = createModel(base.config, base.params);
    const logits = forward(be, model, createActivations(base.config, 1, 1), Int32Array.of(1), 1, 1);
    let maxDiff = 0;
    for (let v = 0; v < 2048; v++) maxDiff = Math.max(maxDiff, Math.abs(logits[v] - greedy.logitsAfterBos[v]));
    assert.ok(maxDiff < 1e-4, `${be.name}: logits after BOS differ from numpy's by ${maxDiff}`);
    const r = generate(be, model, [1], { temperature: 0, maxNewTokens: greedy.ids.length - 1, stopIds: base.eosIds });
    assert.deepEqual([1, ...r.tokens], greedy.ids, `${be.name} greedy ids`);
    assert.match(tok.decode(r.tokens), /^Once upon a time, there was a little girl named Lily\. /, be.name);
  }
});

test('tied/aliased tensors as real checkpoints store them: no alias, embed only, and an untied pair all load', () => {
  const ts = originalTensors();
  const head = ts.find((t) => t.name === 'lm_head.weight')!;
  const cases: [string, T[], Record<string, string>, boolean][] = [
    ['no-alias', ts, { format: 'pt' }, true], // lm_head only, tie_word_embeddings true, no alias recorded
    ['embed-only', ts.map((t) => (t === head ? { ...t, name: 'model.embed_tokens.weight' } : t)), { format: 'pt' }, true],
    ['untied-pair', [...ts, { ...head, name: 'model.embed_tokens.weight' }], { format: 'pt' }, false],
  ];
  for (const [name, tensors, meta, tie] of cases) {
    const d = variant(name, { 'model.safetensors': safetensorsBytes(tensors, 'F32', meta) }, (c) => { c.tie_word_embeddings = tie; });
    const ck = loadCheckpoint(d);
    assert.equal(ck.config.tiedEmbeddings, tie, name);
    const model = createModel(ck.config, ck.params);
    const a = forward(availableBackends()[0], model, createActivations(ck.config, 1, 1), Int32Array.of(1), 1, 1);
    for (let v = 0; v < 2048; v += 97) assert.ok(Math.abs(a[v] - greedy.logitsAfterBos[v]) < 1e-4, `${name} logit ${v}`);
  }
  const none = variant('no-embed-no-head', { 'model.safetensors': safetensorsBytes(ts.filter((t) => t !== head), 'F32') });
  assert.throws(() => loadCheckpoint(none), /no-embed-no-head: missing tensor 'model\.embed_tokens\.weight' \(expected shape \[2048, 128\] from config\.json\)/);
});

test('bf16 and f16 tensors load to the same values; a sharded index loads the same params', () => {
  const ts = originalTensors();
  const load = (dtype: 'BF16' | 'F16') => loadCheckpoint(variant(`dtype-${dtype}`, { 'model.safetensors': safetensorsBytes(ts, dtype, { format: 'pt', 'model.embed_tokens.weight': 'lm_head.weight' }) }, (c) => { c.torch_dtype = dtype === 'BF16' ? 'bfloat16' : 'float16'; }));
  // The 656K weights are all bf16 values already (measured: truncating them to bf16 changes none),
  // so the bf16 file must decode to exactly the f32 one; a wrong decoder changes them.
  assert.deepEqual(load('BF16').params, base.params);
  // They are f16 values too (measured the same way), so the f16 file must also decode exactly.
  assert.deepEqual(load('F16').params, base.params);
  const half = Math.ceil(ts.length / 2);
  const shards = { 'model-00001-of-00002.safetensors': ts.slice(0, half), 'model-00002-of-00002.safetensors': ts.slice(half) };
  const files: Record<string, Buffer | string> = {};
  const weightMap: Record<string, string> = {};
  for (const [f, part] of Object.entries(shards)) {
    files[f] = safetensorsBytes(part, 'F32', { format: 'pt', 'model.embed_tokens.weight': 'lm_head.weight' });
    for (const t of part) weightMap[t.name] = f;
  }
  files['model.safetensors.index.json'] = JSON.stringify({ metadata: { total_size: 2624000 }, weight_map: weightMap });
  const sharded = loadCheckpoint(variant('sharded', files));
  assert.deepEqual(sharded.params, base.params);
});

test('special tokens: special_tokens_map.json > tokenizer_config.json > tokenizer.json; named tokens must exist', () => {
  const tok = loadTokenizer(join(M656, 'tokenizer.json'));
  assert.deepEqual([tok.bosId, tok.eosId, tok.padId, tok.unkId], [1, 2, 0, 0]);
  const folder = (name: string, files: Record<string, unknown>): string => {
    const d = join(tmp, name);
    mkdirSync(d, { recursive: true });
    copyFileSync(join(M656, 'tokenizer.json'), join(d, 'tokenizer.json'));
    for (const [f, j] of Object.entries(files)) writeFileSync(join(d, f), JSON.stringify(j));
    return join(d, 'tokenizer.json');
  };
  // tokenizer.json alone: BOS from its post-processor, no EOS/PAD among the well-known names.
  const bare = loadTokenizer(folder('tok-bare', {}));
  assert.deepEqual([bare.bosId, bare.eosId, bare.padId, bare.unkId], [1, null, null, 0]);
  const cfgOnly = loadTokenizer(folder('tok-config', { 'tokenizer_config.json': { eos_token: '<unk>', pad_token: { content: '<|end_story|>', __type: 'AddedToken' } } }));
  assert.deepEqual([cfgOnly.eosId, cfgOnly.padId], [0, 2]);
  const both = loadTokenizer(folder('tok-both', { 'tokenizer_config.json': { eos_token: '<unk>' }, 'special_tokens_map.json': { eos_token: { content: '<|end_story|>' } } }));
  assert.equal(both.eosId, 2);
  const bad = folder('tok-bad', { 'special_tokens_map.json': { eos_token: '</s>' } });
  assert.throws(() => loadTokenizer(bad), /tok-bad\/special_tokens_map\.json: eos_token "<\/s>" is not a token of .*tokenizer\.json/);
  const badType = folder('tok-bad-type', { 'tokenizer_config.json': { bos_token: 7 } });
  assert.throws(() => loadTokenizer(badType), /tok-bad-type\/tokenizer_config\.json: field 'bos_token' must be a token string or an object with a "content" string, got 7/);
});

test('generation EOS ids: generation_config.json (an id or a list) > config.json; a bad id names the file', () => {
  const st = readFileSync(join(M656, 'model.safetensors'));
  const withGen = variant('gen-list', { 'model.safetensors': st, 'generation_config.json': JSON.stringify({ eos_token_id: [2, 0] }) }, (c) => { c.eos_token_id = 5; });
  assert.deepEqual(loadCheckpoint(withGen).eosIds, [2, 0]);
  const cfgOnly = variant('gen-none', { 'model.safetensors': st }, (c) => { c.eos_token_id = 5; });
  assert.deepEqual(loadCheckpoint(cfgOnly).eosIds, [5]);
  const noEos = variant('gen-no-eos', { 'model.safetensors': st }, (c) => { delete c.eos_token_id; });
  assert.deepEqual(loadCheckpoint(noEos).eosIds, []);
  const bad = variant('gen-bad', { 'model.safetensors': st, 'generation_config.json': JSON.stringify({ eos_token_id: 4096 }) });
  assert.throws(() => loadCheckpoint(bad), /gen-bad\/generation_config\.json: eos_token_id 4096 must be an id \(or a list of ids\) in \[0, 2048\)/);
});

test('bits per byte: the scored targets stand for exactly the text\'s bytes; two tokenizers rank on one scale', async () => {
  const paragraphs = splitParagraphs(readFileSync(STORIES, 'utf8'));
  const val = paragraphs.slice(paragraphs.length - 430);
  const valBytes = val.reduce((n, p) => n + Buffer.byteLength(p, 'utf8'), 0);
  const pairs = [[join(M656, 'tokenizer.json'), M656], ['../shared/data/stories260K/tok512.bin', '../shared/data/stories260K/stories260K.bin']];
  const be = availableBackends()[0];
  const perByte: number[] = [];
  for (const [tokPath, modelPath] of pairs) {
    const tok = loadTokenizer(tokPath);
    const { tokens, tokenBytes } = corpusSplitWithBytes(STORIES, tok, 'val');
    const sum = (from: number, to: number) => { let n = 0; for (let i = from; i < to; i++) n += tokenBytes[i]; return n; };
    assert.ok(Math.abs(sum(0, tokens.length) - valBytes) < 1e-6, `${tokPath}: val tokens stand for the ${val.length} paragraphs' ${valBytes} bytes`);
    // The first paragraph: every token its decoded bytes, the BOS none.
    const first = tokens.indexOf(tok.bosId!, 1);
    assert.equal(tokenBytes[0], 0);
    assert.ok(Math.abs(sum(0, first) - Buffer.byteLength(val[0], 'utf8')) < 1e-6);
    const ck = loadCheckpoint(modelPath);
    const r = await evaluatePerplexity(be, createModel(ck.config, ck.params), tokens, { seqLen: 256, maxWindows: 8, tokenBytes });
    assert.ok(Math.abs(r.bytesScored! - sum(1, 1 + 8 * 256)) < 1e-6);
    assert.ok(Math.abs(r.natsPerByte! - (r.meanLoss * r.tokensScored) / r.bytesScored!) < 1e-12);
    assert.ok(Math.abs(r.bitsPerByte! - r.natsPerByte! / Math.LN2) < 1e-12);
    perByte.push(r.bitsPerByte!);
  }
  // `distill eval` on the whole val split prints 1.5797 (656K) and 1.2968 (stories260K) bits/byte;
  // on these first 8 windows each lies within 0.25 of that.
  assert.ok(Math.abs(perByte[0] - 1.5797) < 0.25 && Math.abs(perByte[1] - 1.2968) < 0.25, `bits/byte ${perByte}`);
});

test('text bytes: a lossy tokenizer\'s <unk> tokens carry the bytes they replaced', () => {
  // The 656K vocabulary has no pieces for the mojibake in stories.txt ("â€œ"), which it maps to <unk> (id 0).
  const tok = loadTokenizer(join(M656, 'tokenizer.json'));
  const doc = 'He said, â€œLetâ€™s go!â€';
  const ids = [1, ...tok.encode(doc)];
  const unks = ids.filter((id) => id === 0).length;
  assert.ok(unks >= 1, `ids ${ids}`);
  const bytes = documentTokenBytes(tok, [doc], ids);
  assert.ok(Math.abs(bytes.reduce((a, b) => a + b, 0) - Buffer.byteLength(doc, 'utf8')) < 1e-9);
  assert.throws(() => documentTokenBytes(tok, [doc, doc], ids), /tokens left|should be the BOS/);
});
