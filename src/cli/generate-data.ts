// `distill generate-data`: a teacher (a checkpoint, or the teacher of a recipe: an http server
// with protocol openai / vllm or `distill serve`, any source that generates) answers every prompt of a file and the answers are
// written as JSONL rows (prompt, response, teacher, sampling, index) for hard-label / sequence-
// level distillation (train on them with data.format: pairs). Resumable, with a progress line.
// Printing and argument checks only; the work is src/teacher/generate-data-job.ts.
import type { Command } from 'commander';
import { loadCorpusShards, defaultShardCacheDir, loadTokenizer, type Tokenizer } from '../data/index.js';
import { loadPairData } from '../data/pairs.js';
import { readPrompts } from '../data/prompts.js';
import type { Backend } from '../engine/backend.js';
import { loadRecipe } from '../recipe/load.js';
import { openTeacher } from '../teacher/open-teacher.js';
import type { Teacher } from '../teacher/teacher.js';
import { selectBackend } from '../engine/select.js';
import { loadModelAndTokenizer } from '../eval/load-pair.js';
import { JobProgress } from '../monitor/job-progress.js';
import { generateData } from '../teacher/generate-data-job.js';
import { ModelTeacher } from '../teacher/model-teacher.js';
import { backendOption, CliUsageError, floatOption, intOption } from './generate.js';

interface GenerateDataFlags {
  teacher?: string;
  recipe?: string;
  tokenizer?: string;
  prompts: string;
  out: string;
  nPerPrompt: number;
  temperature: number;
  topK: number;
  topP: number;
  maxTokens: number;
  seed: number;
  concurrency: number;
  limit?: number;
  skipBad: boolean;
  backend?: 'ref' | 'native';
  progress: boolean;
}

/** 128 new tokens: a few sentences of a TinyStories answer; generation stops earlier at EOS. */
const DEFAULT_MAX_TOKENS = 128;

async function runGenerateData(f: GenerateDataFlags): Promise<void> {
  const { prompts, skippedLines } = readPrompts(f.prompts, { skipBad: f.skipBad });
  if (skippedLines.length > 0) console.error(`${f.prompts}: skipped ${skippedLines.length} bad line(s): ${skippedLines.slice(0, 20).join(', ')}${skippedLines.length > 20 ? ', ...' : ''}`);
  if ((f.teacher === undefined) === (f.recipe === undefined)) throw new CliUsageError('pass the teacher as --teacher <checkpoint> or --recipe <yaml> (its teacher), one of the two');
  const be = selectBackend(f.backend);
  const { teacher, tokenizer, eosIds } = f.teacher !== undefined ? checkpointTeacher(be, f.teacher, f.tokenizer) : await recipeTeacher(be, f.recipe!, f.tokenizer);
  const stopIds = [...new Set([...eosIds, tokenizer.eosId, tokenizer.bosId].filter((x): x is number => x !== null))];
  try {
    await generate(f, prompts, teacher, tokenizer, stopIds);
  } finally {
    await teacher.close?.();
  }
}

interface OpenedTeacher { teacher: Teacher; tokenizer: Tokenizer; eosIds: number[] }

function checkpointTeacher(be: Backend, path: string, tokenizerPath: string | undefined): OpenedTeacher {
  const { checkpoint, model, tokenizer } = loadModelAndTokenizer(path, tokenizerPath);
  return { teacher: new ModelTeacher(be, model, 1, 1, `${checkpoint.source} ${path}`, 'fp32', tokenizer.identity()), tokenizer, eosIds: checkpoint.eosIds };
}

/** The recipe's teacher, opened as `distill run` opens it (its tokenizer and corpus, for the checks). */
async function recipeTeacher(be: Backend, path: string, tokenizerPath: string | undefined): Promise<OpenedTeacher> {
  const recipe = loadRecipe(path);
  const d = recipe.data;
  const tokenizer = loadTokenizer(tokenizerPath ?? d.tokenizer);
  const streams = d.format === 'pairs' || d.format === 'chat'
    ? loadPairData({ ...d, format: d.format }, tokenizer)
    : loadCorpusShards(d.path, tokenizer, { cacheDir: d.cacheDir ?? defaultShardCacheDir(), format: d.format, field: d.field, valFraction: d.validFraction });
  const corpus = { train: streams.train.tokens, val: streams.val.tokens };
  const teacher = await openTeacher(recipe.teacher, { be, tokenizer, batch: 1, seqLen: 1, corpus, processing: recipe.loss.teacher, source: path });
  if (!teacher) throw new CliUsageError(`${path}: key 'teacher': kind none has no model to answer prompts; name a checkpoint or an http teacher`);
  return { teacher, tokenizer, eosIds: [] };
}

async function generate(f: GenerateDataFlags, prompts: string[], teacher: Teacher, tokenizer: Tokenizer, stopIds: number[]): Promise<void> {
  const progress = new JobProgress({ enabled: f.progress, label: 'rows', unit: 'row' });
  const r = await generateData({
    teacher, tokenizer, prompts, out: f.out, nPerPrompt: f.nPerPrompt, stopIds, concurrency: f.concurrency, limit: f.limit,
    sampling: { temperature: f.temperature, topK: f.topK, topP: f.topP, seed: f.seed, maxTokens: f.maxTokens },
    onProgress: (rows, all) => progress.update(rows, all),
  });
  progress.done();
  const resumed = r.resumedFrom > 0 ? `, resumed after ${r.resumedFrom} row(s)${r.droppedBytes > 0 ? ` (a torn last line of ${r.droppedBytes} bytes dropped)` : ''}` : '';
  console.log(`${f.out}: ${r.resumedFrom + r.written} of ${r.total} rows (${r.written} written now${resumed})`);
}

export function registerGenerateData(program: Command): void {
  program
    .command('generate-data')
    .description([
      'answer every prompt of a file with a teacher model and write JSONL rows',
      '{prompt, response, teacher, sampling, index} for hard-label distillation',
      '(train on them with data: {format: pairs}). Row i is sampled from a seed derived',
      'from --seed and i; an interrupted run resumes after the last complete row.',
    ].join('\n'))
    .option('--teacher <path>', 'teacher checkpoint: HF folder, distill .safetensors, GGUF, or llama2.c .bin')
    .option('--recipe <yaml>', 'instead of --teacher: the teacher of this recipe (e.g. http with protocol openai or vllm), with its tokenizer')
    .option('--tokenizer <path>', 'tokenizer (default: the one a model folder or GGUF file carries)')
    .requiredOption('--prompts <file>', '.txt (one prompt a line) or .jsonl ({"prompt": ...} a line)')
    .requiredOption('--out <file>', 'JSONL output; appended to when it exists (resume)')
    .option('--n-per-prompt <n>', 'answers per prompt', intOption('--n-per-prompt', 1), 1)
    .option('--temperature <t>', '0 = greedy; otherwise softmax temperature', floatOption('--temperature', 0, 100), 1)
    .option('--top-k <k>', 'sample from the k most likely tokens (0 = all)', intOption('--top-k', 0), 0)
    .option('--top-p <p>', 'sample from the smallest set of tokens with mass >= p (1 = all)', floatOption('--top-p', 1e-9, 1), 1)
    .option('--max-tokens <n>', `new tokens per answer at most (default ${DEFAULT_MAX_TOKENS}; stops earlier at EOS)`, intOption('--max-tokens', 1), DEFAULT_MAX_TOKENS)
    .option('--seed <s>', 'sampling seed (same seed, same rows)', intOption('--seed', 0), 0)
    .option('--concurrency <c>', 'answers in flight at once', intOption('--concurrency', 1), 1)
    .option('--limit <n>', 'stop once the file holds n rows (run the rest later: it resumes)', intOption('--limit', 0))
    .option('--skip-bad', 'leave out bad prompt lines (counted) instead of failing', false)
    .option('--backend <name>', 'ref | native (default: $DISTILL_BACKEND, else native when built)', backendOption)
    .option('--no-progress', 'no progress line')
    .action((f: GenerateDataFlags) => runGenerateData(f));
}
