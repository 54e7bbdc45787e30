// `distill eval`: mean next-token loss (nats) and perplexity of a model on a text split, over
// non-overlapping windows (definition in src/eval/perplexity.ts), plus throughput, parameter
// count and bytes on disk. Printing only; the computation is src/eval/perplexity.ts.

import type { Command } from 'commander';
import { selectBackend } from '../engine/select.js';
import { loadModelAndTokenizer } from '../eval/load-pair.js';
import { withBf16Weights } from '../model/index.js';
import { corpusSplit, evaluatePerplexity, type SplitName } from '../eval/perplexity.js';
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
    ].join('\n'))
    .requiredOption('--model <path>', 'checkpoint: HF folder, distill .safetensors, GGUF, or llama2.c .bin')
    .option('--tokenizer <path>', 'tokenizer: llama2.c .bin, SentencePiece .model, HF tokenizer.json, or .gguf (default for a GGUF model: its own)')
    .requiredOption('--data <file>', 'text corpus: paragraphs separated by blank lines')
    .option('--split <name>', 'val | train | all', 'val')
    .option('--seq-len <n>', `T, tokens per window (default ${DEFAULT_SEQ_LEN}, capped at the model's context)`, intOption('--seq-len', 1))
    .option('--max-windows <n>', 'score only the first n windows', intOption('--max-windows', 1))
    .option('--backend <name>', 'ref | native (default: $DISTILL_BACKEND, else native when built)', backendOption)
    .option('--precision <p>', 'fp32 | bf16: matmul weights as stored, or rounded to bf16 as a bf16 teacher runs them', 'fp32')
    .action(async (f: EvalFlags) => {
      if (f.split !== 'val' && f.split !== 'train' && f.split !== 'all') throw new CliUsageError(`--split must be val, train or all, got '${f.split}'`);
      if (f.precision !== 'fp32' && f.precision !== 'bf16') throw new CliUsageError(`--precision must be fp32 or bf16, got '${f.precision}'`);
      const be = selectBackend(f.backend);
      const loaded = loadModelAndTokenizer(f.model, f.tokenizer);
      const { checkpoint, tokenizer } = loaded;
      const model = f.precision === 'bf16' ? withBf16Weights(be, loaded.model) : loaded.model;
      const tokens = corpusSplit(f.data, tokenizer, f.split as SplitName);
      const seqLen = f.seqLen ?? Math.min(DEFAULT_SEQ_LEN, checkpoint.config.maxSeqLen);
      const r = await evaluatePerplexity(be, model, tokens, { seqLen, maxWindows: f.maxWindows });
      console.log(`model: ${checkpoint.path} (${checkpoint.source}, ${model.layout.total} parameters, ${checkpoint.bytesOnDisk} bytes on disk)`);
      console.log(`data: ${f.data} split ${f.split}: ${tokens.length} tokens, ${r.windows} windows of ${r.seqLen} (${r.tokensScored} targets scored)`);
      console.log(`loss: ${r.meanLoss.toFixed(6)} nats/token${f.precision === 'bf16' ? ' (bf16 matmul weights)' : ''}`);
      console.log(`perplexity: ${r.perplexity.toFixed(4)}`);
      console.log(`speed: ${Math.round(r.tokensPerSecond)} tokens/s on ${be.name} (${be.isa}, ${be.threads} threads), ${r.seconds.toFixed(2)} s`);
    });
}
