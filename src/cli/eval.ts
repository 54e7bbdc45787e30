// `distill eval`: mean next-token loss (nats) and perplexity of a model on a text split, over
// non-overlapping windows (definition in src/eval/perplexity.ts), plus throughput, parameter
// count and bytes on disk. Printing only; the computation is src/eval/perplexity.ts.

import type { Command } from 'commander';
import { selectBackend } from '../engine/select.js';
import { loadModelAndTokenizer } from '../eval/load-pair.js';
import { createModel, withBf16Weights } from '../model/index.js';
import { GGUF_WRITE_TYPES } from '../io/gguf-write.js';
import { quantizedParams } from '../io/quantized-params.js';
import { corpusSplitWithBytes, evaluatePerplexity, type SplitName } from '../eval/perplexity.js';
import { JobProgress } from '../monitor/job-progress.js';
import { backendOption, CliUsageError, intOption } from './generate.js';

interface EvalFlags {
  model: string;
  tokenizer?: string;
  data: string;
  split: string;
  seqLen?: number;
  maxWindows?: number;
  backend?: 'ref' | 'native';
  precision: string;
  quant?: string;
  progress: boolean;
}

/** Default window: 256 tokens, half of stories260K's 512 context, the figure the reference script records. */
const DEFAULT_SEQ_LEN = 256;

export function registerEval(program: Command): void {
  program
    .command('eval')
    .summary('mean next-token loss and perplexity of a model on a text split')
    .description([
      'mean next-token loss (nats) and perplexity on a text split.',
      'Tokens: each paragraph (blank-line separated) is BOS + its tokens, concatenated',
      'in file order; the last 10% of paragraphs are the val split.',
      'Windows: N tokens give W = floor((N-1)/T) windows; window i has inputs',
      'tokens[i*T .. i*T+T-1] and targets tokens[i*T+1 .. i*T+T]; the shorter tail',
      'is dropped; the loss is the mean over all W*T targets.',
      'Per byte: the summed loss over the UTF-8 bytes of text those targets spell',
      '(bits/byte = nats/byte / ln 2), comparable between models with different tokenizers.',
    ].join('\n'))
    .requiredOption('--model <path>', 'checkpoint: HF folder, distill .safetensors, GGUF, or llama2.c .bin')
    .option('--tokenizer <path>', 'tokenizer: llama2.c .bin, SentencePiece .model, HF tokenizer.json, or .gguf (default: the one a model folder or GGUF file carries)')
    .requiredOption('--data <file>', 'text corpus: paragraphs separated by blank lines')
    .option('--split <name>', 'val | train | all', 'val')
    .option('--seq-len <n>', `T, tokens per window (default ${DEFAULT_SEQ_LEN}, capped at the model's context)`, intOption('--seq-len', 1))
    .option('--max-windows <n>', 'score only the first n windows', intOption('--max-windows', 1))
    .option('--backend <name>', 'ref | native (default: $DISTILL_BACKEND, else native when built)', backendOption)
    .option('--quant <t>', `weights as a GGUF of this type holds them (${GGUF_WRITE_TYPES.map((t) => t.toLowerCase()).join(' | ')}): quantized, dequantized on load, run in fp32`)
    .option('--precision <p>', 'fp32 | bf16: matmul weights as stored, or rounded to bf16 as a bf16 teacher runs them', 'fp32')
    .option('--no-progress', 'no progress line')
    .action(async (f: EvalFlags) => {
      if (f.split !== 'val' && f.split !== 'train' && f.split !== 'all') throw new CliUsageError(`--split must be val, train or all, got '${f.split}'`);
      if (f.precision !== 'fp32' && f.precision !== 'bf16') throw new CliUsageError(`--precision must be fp32 or bf16, got '${f.precision}'`);
      const be = selectBackend(f.backend);
      const loaded = loadModelAndTokenizer(f.model, f.tokenizer);
      const { checkpoint, tokenizer } = loaded;
      let base = loaded.model;
      let quantNote = '';
      if (f.quant !== undefined) {
        const type = GGUF_WRITE_TYPES.find((t) => t.toLowerCase() === f.quant!.toLowerCase());
        if (!type) throw new CliUsageError(`--quant must be one of ${GGUF_WRITE_TYPES.map((t) => t.toLowerCase()).join(', ')}, got '${f.quant}'`);
        const q = quantizedParams(checkpoint.config, checkpoint.params, type);
        base = createModel(checkpoint.config, q.params);
        const counts = new Map<string, number>();
        for (const t of Object.values(q.tensorTypes)) counts.set(t, (counts.get(t) ?? 0) + 1);
        quantNote = `quant: ${type.toLowerCase()} (${[...counts].map(([t, n]) => `${n} ${t}`).join(', ')} tensors; ${q.bytes} bytes as GGUF)`;
      }
      const model = f.precision === 'bf16' ? withBf16Weights(be, base) : base;
      const { tokens, tokenBytes } = corpusSplitWithBytes(f.data, tokenizer, f.split as SplitName);
      const seqLen = f.seqLen ?? Math.min(DEFAULT_SEQ_LEN, checkpoint.config.maxSeqLen);
      const bar = new JobProgress({ enabled: f.progress, label: 'eval windows', unit: 'window' });
      const r = await evaluatePerplexity(be, model, tokens, {
        seqLen, maxWindows: f.maxWindows, tokenBytes, onProgress: (done, total) => bar.update(done, total, done * seqLen),
      });
      bar.done();
      console.log(`model: ${checkpoint.path} (${checkpoint.source}, ${model.layout.total} parameters, ${checkpoint.bytesOnDisk} bytes on disk)`);
      if (quantNote) console.log(quantNote);
      console.log(`data: ${f.data} split ${f.split}: ${tokens.length} tokens, ${r.windows} windows of ${r.seqLen} (${r.tokensScored} targets scored)`);
      console.log(`loss: ${r.meanLoss.toFixed(6)} nats/token${f.precision === 'bf16' ? ' (bf16 matmul weights)' : ''}`);
      console.log(`perplexity: ${r.perplexity.toFixed(4)}`);
      console.log(`per byte: ${r.bitsPerByte!.toFixed(6)} bits/byte, ${r.natsPerByte!.toFixed(6)} nats/byte (${Math.round(r.bytesScored!)} bytes of text; comparable across tokenizers)`);
      console.log(`speed: ${Math.round(r.tokensPerSecond)} tokens/s on ${be.name} (${be.isa}, ${be.threads} threads), ${r.seconds.toFixed(2)} s`);
    });
}
