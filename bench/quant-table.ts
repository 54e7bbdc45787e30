// What quantization costs: one model written as GGUF f32 / f16 / q8_0 / q4_0 / q4_k, and for each
// file its size, our engine's validation loss (nats/token and bits/byte) and tokens/s reading that
// file, and llama.cpp's (node-llama-cpp's) loss on the same file and the same windows. Run by hand:
//   npm run build && node dist/bench/quant-table.js MODEL TOKENIZER [maxWindows]
// e.g. ../shared/data/stories260K/stories260K.bin ../shared/data/stories260K/tok512.bin 16
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../src/data/index.js';
import { ggufTokenizerMetaOf } from '../src/data/gguf-tokenizer.js';
import { selectBackend } from '../src/engine/select.js';
import { createEvalScratch, evaluateTeacher } from '../src/eval/distill-eval.js';
import { corpusSplitWithBytes, evaluatePerplexity } from '../src/eval/perplexity.js';
import { type GgufWriteType, writeGgufModel } from '../src/io/gguf-write.js';
import { loadCheckpoint } from '../src/io/load-model.js';
import { createModel } from '../src/model/index.js';
import { LlamaCppTeacher } from '../src/teacher/llama-cpp-teacher.js';

const [modelPath, tokPath, windowsArg] = process.argv.slice(2);
if (!modelPath || !tokPath) {
  console.error('usage: node dist/bench/quant-table.js MODEL TOKENIZER [maxWindows]');
  process.exit(2);
}
const maxWindows = Number(windowsArg ?? 16);
const T = 256;
const be = selectBackend();
const tok = loadTokenizer(tokPath);
const src = loadCheckpoint(modelPath);
const { tokens, tokenBytes } = corpusSplitWithBytes('../shared/data/tinystories/stories.txt', tok, 'val');
const dir = mkdtempSync(join(tmpdir(), 'distill-quant-'));
const types: GgufWriteType[] = ['F32', 'F16', 'Q8_0', 'Q4_0', 'Q4_K'];
console.log(`${modelPath} (${src.params.length} parameters), ${maxWindows} val windows of ${T} of stories.txt, ${be.name} ${be.isa} ${be.threads} threads`);
console.log('| file | bytes | tensors | ours nats/token | ours bits/byte | ours tok/s | llama.cpp nats/token | llama.cpp bits/byte |');
console.log('|---|---|---|---|---|---|---|---|');
try {
  for (const type of types) {
    const file = join(dir, `model-${type.toLowerCase()}.gguf`);
    const w = writeGgufModel(file, src.config, src.params, { type, tokenizer: ggufTokenizerMetaOf(tok) });
    const counts = new Map<string, number>();
    for (const t of Object.values(w.tensorTypes)) counts.set(t, (counts.get(t) ?? 0) + 1);
    const ck = loadCheckpoint(file);
    const ours = await evaluatePerplexity(be, createModel(ck.config, ck.params), tokens, { seqLen: T, maxWindows, tokenBytes });
    const lc = await LlamaCppTeacher.open({ path: file, topK: 64, batch: 1, seqLen: T, threads: be.threads });
    let theirs: { valLoss: number; tokens: number };
    try {
      theirs = await evaluateTeacher(be, lc, { tokens, split: 'val' }, 1, T, createEvalScratch(1, T), maxWindows);
    } finally {
      await lc.close();
    }
    if (theirs.tokens !== ours.tokensScored) throw new Error(`llama.cpp scored ${theirs.tokens} targets, ours ${ours.tokensScored}`);
    const bpb = (nats: number) => ((nats * ours.tokensScored) / ours.bytesScored! / Math.LN2).toFixed(4);
    console.log(`| ${type.toLowerCase()} | ${statSync(file).size} | ${[...counts].map(([t, n]) => `${n} ${t}`).join(', ')} | ${ours.meanLoss.toFixed(4)} | ${ours.bitsPerByte!.toFixed(4)} | ${Math.round(ours.tokensPerSecond)} | ${theirs.valLoss.toFixed(4)} | ${bpb(theirs.valLoss)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
