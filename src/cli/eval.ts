// `distill eval`: models × texts in one table (src/eval/eval-table.ts): loss per token and per
// byte, perplexity, accuracy, agreement/KL with a reference, size, FLOPs and speed; a single model
// on a single text prints the long form it always has. Printing only; no computation here.

import type { Command } from 'commander';
import { selectBackend } from '../engine/select.js';
import { type ModelAndTokenizer } from '../eval/load-pair.js';
import { createModel, type Model, withBf16Weights } from '../model/index.js';
import { carriedTokenizerPath, loadCheckpoint } from '../io/load-model.js';
import { DEFAULT_EVAL_SEQ_LEN, type EvalRow, evaluateTable } from '../eval/eval-table.js';
import { compactCount, formatEvalTable } from '../eval/format-eval-table.js';
import { GGUF_WRITE_TYPES } from '../io/gguf-write.js';
import { quantizedParams } from '../io/quantized-params.js';
import { type SplitName } from '../eval/perplexity.js';
import { JobProgress } from '../monitor/job-progress.js';
import { backendOption, CliUsageError, intOption } from './generate.js';

interface EvalFlags {
  model: string[];
  tokenizer: string[];
  data: string[];
  field?: string;
  split: string;
  reference?: string;
  referenceTokenizer?: string;
  seqLen?: number;
  maxWindows?: number;
  backend?: 'ref' | 'native';
  precision: string;
  quant?: string;
  json: boolean;
  progress: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Which --tokenizer each model gets: one per model in order, or a single one for every model
 *  that carries none (a lone model: for it, as always). */
function tokenizerFor(models: string[], toks: string[]): (string | undefined)[] {
  if (toks.length === 0) return models.map(() => undefined);
  if (toks.length === models.length) return toks;
  if (toks.length !== 1) throw new CliUsageError(`--tokenizer given ${toks.length} times for ${models.length} models; give one per --model, or one for the models that carry none`);
  return models.map((m) => (models.length === 1 || carriedTokenizerPath(loadCheckpoint(m)) === null ? toks[0] : undefined));
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .summary('loss, bits/byte, accuracy, size and speed of models on texts: one table')
    .description([
      'Scores every --model on every --data: mean next-token loss (nats/token), bits/byte,',
      'perplexity, top-1 next-token accuracy, and with --reference (the teacher) the top-1',
      'agreement and KL(reference ‖ model), plus parameters, bytes on disk, forward FLOPs/token',
      'and tokens/s. Each model uses its own tokenizer (the one its folder or GGUF carries, or',
      '--tokenizer); models with different tokenizers compare by bits/byte, and agreement/KL',
      'are shown only where the reference shares the tokenizer ("—" otherwise).',
      'Tokens: each paragraph (blank-line separated; a text with no empty line splits at',
      'whitespace-only lines) or JSONL record is BOS + its tokens, in file order; the last 10%',
      'of documents are the val split, the rest train; all: every document (one is enough).',
      'Windows: N tokens give W = floor((N-1)/T) windows; window i has inputs',
      'tokens[i*T .. i*T+T-1] and targets tokens[i*T+1 .. i*T+T]; the shorter tail',
      'is dropped; the loss is the mean over all W*T targets.',
      'Per byte: the summed loss over the UTF-8 bytes of text those targets spell',
      '(bits/byte = nats/byte / ln 2), comparable between models with different tokenizers.',
    ].join('\n'))
    .option('--model <path>', 'checkpoint: HF folder, distill .safetensors, GGUF, or llama2.c .bin (repeat for several)', collect, [])
    .option('--tokenizer <path>', 'tokenizer: llama2.c .bin, SentencePiece .model, HF tokenizer.json, or .gguf; one per --model, or one for those that carry none (default: the one a model folder or GGUF file carries)', collect, [])
    .option('--data <file>', 'text (paragraphs separated by blank lines) or .jsonl (repeat for several)', collect, [])
    .option('--field <name>', 'JSONL: the string field holding each document', 'text')
    .option('--split <name>', 'val | train | all', 'val')
    .option('--reference <path>', 'reference model (the teacher): top-1 agreement and KL against it, for models sharing its tokenizer')
    .option('--reference-tokenizer <path>', "the reference's tokenizer (default: the one it carries, else the first --tokenizer)")
    .option('--seq-len <n>', `T, tokens per window (default ${DEFAULT_EVAL_SEQ_LEN}, capped at the shortest context among the models)`, intOption('--seq-len', 1))
    .option('--max-windows <n>', 'score only the first n windows', intOption('--max-windows', 1))
    .option('--backend <name>', 'ref | native (default: $DISTILL_BACKEND, else native when built)', backendOption)
    .option('--quant <t>', `weights as a GGUF of this type holds them (${GGUF_WRITE_TYPES.map((t) => t.toLowerCase()).join(' | ')}): quantized, dequantized on load, run in fp32`)
    .option('--precision <p>', 'fp32 | bf16: matmul weights as stored, or rounded to bf16 as a bf16 teacher runs them', 'fp32')
    .option('--json', 'print the rows as JSON (for scripts)', false)
    .option('--no-progress', 'no progress line')
    .action(async (f: EvalFlags) => {
      if (f.model.length === 0) throw new CliUsageError('--model is required (repeat it for several models)');
      if (f.data.length === 0) throw new CliUsageError('--data is required (repeat it for several texts)');
      if (f.split !== 'val' && f.split !== 'train' && f.split !== 'all') throw new CliUsageError(`--split must be val, train or all, got '${f.split}'`);
      if (f.precision !== 'fp32' && f.precision !== 'bf16') throw new CliUsageError(`--precision must be fp32 or bf16, got '${f.precision}'`);
      const type = f.quant === undefined ? undefined : GGUF_WRITE_TYPES.find((t) => t.toLowerCase() === f.quant!.toLowerCase());
      if (f.quant !== undefined && !type) throw new CliUsageError(`--quant must be one of ${GGUF_WRITE_TYPES.map((t) => t.toLowerCase()).join(', ')}, got '${f.quant}'`);
      const be = selectBackend(f.backend);
      const quantNotes: string[] = [];
      const prepare = (loaded: ModelAndTokenizer): Model => {
        const { checkpoint } = loaded;
        let base = loaded.model;
        if (type !== undefined) {
          const q = quantizedParams(checkpoint.config, checkpoint.params, type);
          base = createModel(checkpoint.config, q.params);
          const counts = new Map<string, number>();
          for (const t of Object.values(q.tensorTypes)) counts.set(t, (counts.get(t) ?? 0) + 1);
          quantNotes.push(`quant: ${type.toLowerCase()} (${[...counts].map(([t, n]) => `${n} ${t}`).join(', ')} tensors; ${q.bytes} bytes as GGUF)`);
        }
        return f.precision === 'bf16' ? withBf16Weights(be, base) : base;
      };
      const toks = tokenizerFor(f.model, f.tokenizer);
      const bar = new JobProgress({ enabled: f.progress, label: 'eval windows', unit: 'window' });
      const rows = await evaluateTable(be, f.model.map((path, i) => ({ path, tokenizer: toks[i] })), f.data.map((path) => ({ path, field: f.field })), {
        split: f.split as SplitName, seqLen: f.seqLen, maxWindows: f.maxWindows, prepare,
        reference: f.reference === undefined ? undefined : { path: f.reference, tokenizer: f.referenceTokenizer ?? (carriedTokenizerPath(loadCheckpoint(f.reference)) === null ? f.tokenizer[0] : undefined) },
        onProgress: (_label, done, total, T) => bar.update(done, total, done * T),
      });
      bar.done();
      const where = `${be.name} (${be.isa}, ${be.threads} threads)`;
      if (f.json) {
        console.log(JSON.stringify({ split: f.split, reference: f.reference ?? null, precision: f.precision, quant: type ?? null, backend: where, rows }, null, 2));
        return;
      }
      if (rows.length === 1 && f.reference === undefined) {
        printSingle(rows[0], quantNotes[0], f.precision === 'bf16', where);
        return;
      }
      for (const n of new Set(quantNotes)) console.log(n);
      console.log(`split ${f.split}, windows of ${rows[0].seqLen} tokens, on ${where}${f.reference ? `; reference ${f.reference}` : ''}`);
      for (const l of formatEvalTable(rows)) console.log(l);
      if (rows.some((r) => r.referenceNote === 'other tokenizer')) console.log('—: the reference has another tokenizer (compare by bits/byte)');
    });
}

/** The one-model, one-text output `distill eval` has always printed (tests and scripts read it). */
function printSingle(r: EvalRow, quantNote: string | undefined, bf16: boolean, where: string): void {
  console.log(`model: ${r.model} (${r.params} parameters, ${r.bytesOnDisk} bytes on disk, ${compactCount(r.flopsPerToken)} FLOPs/token)`);
  if (quantNote) console.log(quantNote);
  console.log(`data: ${r.data} split ${r.split}: ${r.tokens} tokens, ${r.windows} windows of ${r.seqLen} (${r.tokensScored} targets scored)`);
  console.log(`loss: ${r.natsPerToken.toFixed(6)} nats/token${bf16 ? ' (bf16 matmul weights)' : ''}`);
  console.log(`perplexity: ${r.perplexity.toFixed(4)}`);
  console.log(`per byte: ${r.bitsPerByte.toFixed(6)} bits/byte, ${(r.bitsPerByte * Math.LN2).toFixed(6)} nats/byte (${Math.round(r.bytesScored)} bytes of text; comparable across tokenizers)`);
  console.log(`top-1 accuracy: ${(100 * r.top1Accuracy).toFixed(2)}%`);
  console.log(`speed: ${Math.round(r.tokensPerSecond)} tokens/s on ${where}`);
}
