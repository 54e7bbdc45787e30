// `distill generate`: loads a checkpoint and a tokenizer, continues a prompt and prints prompt +
// continuation (streamed token by token), stopping at EOS/BOS or --max-tokens. Also holds the
// small option parsers the other model commands share. Generation itself lives in src/model/.

import type { Command } from 'commander';
import { createStreamDecoder } from '../data/index.js';
import { selectBackend } from '../engine/select.js';
import { loadModelAndTokenizer } from '../eval/load-pair.js';
import { generate } from '../model/index.js';

export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/** Parses an integer option (>= min), naming the option when the value is not one. */
export function intOption(flag: string, min: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new CliUsageError(`${flag} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
}

/** Parses a finite number option within [min, max]. */
export function floatOption(flag: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new CliUsageError(`${flag} must be a number in [${min}, ${max}], got '${v}'`);
    return n;
  };
}

export function backendOption(v: string): 'ref' | 'native' {
  if (v !== 'ref' && v !== 'native') throw new CliUsageError(`--backend must be 'ref' or 'native', got '${v}'`);
  return v;
}

interface GenerateFlags {
  model: string;
  tokenizer?: string;
  prompt: string;
  maxTokens?: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  kvCache: boolean;
  backend?: 'ref' | 'native';
}

/** Default cap on new tokens when --max-tokens is not given (still stops earlier at EOS). */
const DEFAULT_MAX_TOKENS = 256;

function runGenerate(f: GenerateFlags, write: (s: string) => void): void {
  const be = selectBackend(f.backend);
  const { checkpoint, model, tokenizer: tok } = loadModelAndTokenizer(f.model, f.tokenizer);
  // Llama-style vocabularies start every document with BOS; GPT-2 has none and uses <|endoftext|>.
  const start = tok.bosId ?? tok.eosId;
  const ids = tok.encode(f.prompt);
  if (start !== null) ids.unshift(start);
  if (ids.length === 0) throw new CliUsageError(`the prompt is empty and ${tok.source} has no BOS or EOS token to start from; give --prompt text`);
  // The model's generation_config.json / config.json EOS ids, the tokenizer's EOS, and BOS (which
  // starts the next document, as llama2.c's run.c stops at it).
  const stopIds = [...new Set([...checkpoint.eosIds, tok.eosId, tok.bosId].filter((x): x is number => x !== null))];
  const dec = createStreamDecoder(tok, ids[ids.length - 1]);
  // The prompt is printed with the first new token, so a failure in the first forward pass
  // leaves stdout empty rather than half a line.
  let started = false;
  const emit = (s: string) => {
    if (!started) { write(f.prompt); started = true; }
    write(s);
  };
  generate(be, model, ids, {
    maxNewTokens: f.maxTokens ?? DEFAULT_MAX_TOKENS,
    temperature: f.temperature, topK: f.topK, topP: f.topP, seed: f.seed,
    useKvCache: f.kvCache, stopIds,
    onToken: (id) => emit(dec.push(id)),
  });
  emit(dec.flush() + '\n');
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('continue a prompt with a model and print prompt + continuation (stops at EOS/BOS)')
    .requiredOption('--model <path>', 'checkpoint: HF folder, distill .safetensors, GGUF, or llama2.c .bin')
    .option('--tokenizer <path>', 'tokenizer: llama2.c .bin, SentencePiece .model, HF tokenizer.json, or .gguf (default: the one a model folder or GGUF file carries)')
    .requiredOption('--prompt <text>', 'text to continue (a BOS token is put before it when the tokenizer has one)')
    .option('--max-tokens <n>', `new tokens at most (default ${DEFAULT_MAX_TOKENS}, or fewer when the context fills)`, intOption('--max-tokens', 0))
    .option('--temperature <t>', '0 = greedy; otherwise softmax temperature', floatOption('--temperature', 0, 100), 1)
    .option('--top-k <k>', 'sample from the k most likely tokens (0 = all)', intOption('--top-k', 0), 0)
    .option('--top-p <p>', 'sample from the smallest set of tokens with mass >= p (1 = all)', floatOption('--top-p', 1e-9, 1), 1)
    .option('--seed <s>', 'sampling seed (same seed, same text)', intOption('--seed', 0), 0)
    .option('--no-kv-cache', 'recompute the whole prefix each step instead of using the KV cache')
    .option('--backend <name>', 'ref | native (default: $DISTILL_BACKEND, else native when built)', backendOption)
    .action((f: GenerateFlags) => {
      // `distill generate ... | head -1`: a closed pipe ends the command quietly, not with a stack.
      process.stdout.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE') process.exit(0);
        throw e;
      });
      runGenerate(f, (s) => process.stdout.write(s));
    });
}
