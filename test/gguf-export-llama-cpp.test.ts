// Our GGUF exports run by llama.cpp itself (node-llama-cpp 3.21.1, prebuilt CPU binary): for f32
// and f16, llama.cpp's greedy 64-token continuation equals our engine's on the same file, and its
// validation perplexity is within 0.5 % of ours; q8_0 and q4_0 files load and generate; a
// Hugging Face folder's Llama-style tokenizer.json goes into the GGUF so that llama.cpp tokenizes as it does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExport } from '../src/cli/export.js';
import { loadTokenizer, splitParagraphs } from '../src/data/index.js';
import { fixturesDir } from './helpers/fixtures.js';
import { selectBackend } from '../src/engine/select.js';
import { createEvalScratch, evaluateTeacher } from '../src/eval/distill-eval.js';
import { corpusSplit, evaluatePerplexity } from '../src/eval/perplexity.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { createModel, generate } from '../src/model/index.js';
import { LlamaCppTeacher } from '../src/teacher/llama-cpp-teacher.js';
import { loadLlamaCpp } from '../src/teacher/llama-cpp-runtime.js';

const runtime = await loadLlamaCpp('gguf export test').then((r) => r, (e: Error) => e);
const skip = runtime instanceof Error ? `node-llama-cpp cannot load: ${runtime.message}` : false;
const tmp = mkdtempSync(join(tmpdir(), 'distill-gguf-lcpp-'));
const TOK = '../shared/data/stories260K/tok512.model';
const tok = loadTokenizer(TOK);
const be = selectBackend();
const prompt = [tok.bosId!, ...tok.encode('Once upon a time')];

/** llama.cpp's greedy continuation (temperature 0), stopping at EOS or after n tokens. */
async function llamaGreedy(file: string, n: number): Promise<number[]> {
  if (runtime instanceof Error) throw runtime;
  const model = await runtime.llama.loadModel({ modelPath: file, gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: 128, threads: be.threads, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
  const out: number[] = [];
  try {
    for await (const t of ctx.getSequence().evaluate(prompt as never, { temperature: 0 })) {
      if ((t as number) === tok.eosId || out.length === n) break;
      out.push(t as number);
    }
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
  return out;
}

test('f32 and f16 GGUF exports: llama.cpp\'s greedy 64 tokens equal ours, its perplexity within 0.5 %', { skip }, async (t) => {
  const val = corpusSplit('../shared/data/tinystories/stories.txt', tok, 'val');
  for (const type of ['f32', 'f16']) {
    const file = join(tmp, `stories-${type}.gguf`);
    runExport('../shared/data/stories260K/stories260K.bin', { format: 'gguf', out: file, tokenizer: TOK, dtype: type, llama2cVersion: 'legacy' });
    const ck = loadCheckpoint(file);
    const model = createModel(ck.config, ck.params);
    const ours = generate(be, model, prompt, { temperature: 0, maxNewTokens: 64, stopIds: [tok.eosId!] }).tokens;
    assert.deepEqual(await llamaGreedy(file, 64), ours, `${type}: ${tok.decode(ours)}`);
    const mine = await evaluatePerplexity(be, model, val, { seqLen: 256, maxWindows: 4 });
    const lc = await LlamaCppTeacher.open({ path: file, topK: 64, batch: 1, seqLen: 256, threads: be.threads });
    try {
      const theirs = await evaluateTeacher(be, lc, { tokens: val, split: 'val' }, 1, 256, createEvalScratch(1, 256), 4);
      const rel = Math.abs(Math.exp(theirs.valLoss) - mine.perplexity) / mine.perplexity;
      t.diagnostic(`${type}: perplexity llama.cpp ${Math.exp(theirs.valLoss).toFixed(5)}, ours ${mine.perplexity.toFixed(5)} (${(rel * 100).toFixed(4)} %)`);
      assert.ok(rel < 0.005, `${type}: llama.cpp perplexity ${Math.exp(theirs.valLoss)} vs ours ${mine.perplexity} (${(rel * 100).toFixed(4)} %)`);
    } finally {
      await lc.close();
    }
  }
});

test('q8_0 and q4_0 GGUF exports load in llama.cpp and generate text', { skip }, async () => {
  for (const type of ['q8_0', 'q4_0']) {
    const file = join(tmp, `stories-${type}.gguf`);
    runExport('../shared/data/stories260K/stories260K.bin', { format: 'gguf', out: file, tokenizer: TOK, quant: type, llama2cVersion: 'legacy' });
    const ids = await llamaGreedy(file, 24);
    assert.ok(ids.length >= 8, `${type}: ${ids.length} tokens`);
    assert.match(tok.decode(ids), /^[ ,.A-Za-z'"!?\n-]+$/, `${type}: ${JSON.stringify(tok.decode(ids))}`);
  }
});

test('the 656K Hugging Face folder as GGUF: llama.cpp tokenizes real text as its tokenizer.json does and continues BOS as numpy does', { skip }, async () => {
  if (runtime instanceof Error) return;
  const file = join(tmp, 'tinystories-656k.gguf');
  runExport('../shared/data/tinystories-656k', { format: 'gguf', out: file, llama2cVersion: 'legacy' });
  const hf = loadTokenizer('../shared/data/tinystories-656k/tokenizer.json');
  const ours = loadTokenizer(file);
  const model = await runtime.llama.loadModel({ modelPath: file, gpuLayers: 0 });
  try {
    const paragraphs = splitParagraphs(readFileSync('../shared/data/tinystories/stories.txt', 'utf8')).slice(0, 300);
    for (const p of paragraphs) {
      const want = hf.encode(p);
      assert.deepEqual(ours.encode(p), want, `ours: ${p.slice(0, 50)}`);
      assert.deepEqual(Array.from(model.tokenize(p)), want, `llama.cpp: ${p.slice(0, 50)}`);
    }
    // scripts/ref-generate-tinystories656k.py: the float64 numpy greedy ids from BOS.
    const fixture = JSON.parse(readFileSync(join(fixturesDir, 'hf', 'tinystories656k-greedy.json'), 'utf8')) as { ids: number[] };
    const ctx = await model.createContext({ contextSize: 64, threads: be.threads, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
    const got: number[] = [];
    for await (const t of ctx.getSequence().evaluate([1] as never, { temperature: 0 })) {
      if (got.length === fixture.ids.length - 1) break;
      got.push(t as number);
    }
    await ctx.dispose();
    assert.deepEqual([1, ...got], fixture.ids);
  } finally {
    await model.dispose();
  }
});
