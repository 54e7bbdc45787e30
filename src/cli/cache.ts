// `distill cache`: runs a teacher once over a tokenized corpus (both splits) and writes an
// offline teacher store (docs/store-format.md), streaming shard by shard with a progress line.
// Settings come from a recipe (--recipe: data, tokenizer, teacher, context = seqLen) and/or flags.
// Printing and argument checks only; the work is src/teacher/cache-job.ts.
import type { Command } from 'commander';
import { defaultShardCacheDir, loadCorpusShards, loadTokenizer } from '../data/index.js';
import { selectBackend } from '../engine/select.js';
import { JobProgress } from '../monitor/job-progress.js';
import { loadRecipe } from '../recipe/load.js';
import { VALUE_ENCODINGS, type ValueEncoding } from '../store/format.js';
import { fillStore } from '../teacher/cache-job.js';
import { openTeacher, type TeacherSpec } from '../teacher/open-teacher.js';
import { backendOption, CliUsageError, floatOption, intOption } from './generate.js';

interface CacheFlags {
  recipe?: string;
  teacher?: string;
  tokenizer?: string;
  data?: string;
  out: string;
  k: number;
  topP: number;
  temperature: number;
  encoding: string;
  context?: number;
  shardPositions?: number;
  shards?: string;
  batch: number;
  backend?: 'ref' | 'native';
  progress: boolean;
}

/** 32 ids: the target size (≤ 64 bytes/token with q6 at V = 512). */
const DEFAULT_K = 32;
/** q6: fits k = 32 at V = 512 in 63 bytes per position, under the 64 (docs/store-format.md). */
const DEFAULT_ENCODING: ValueEncoding = 'q6';
/** 256: the recipes' seqLen, so stored windows match the training and eval windows. */
const DEFAULT_CONTEXT = 256;
/** Teacher windows per shard: 64 × 256 = 16,384 positions, about 1 MB at k = 32 q6. */
const WINDOWS_PER_SHARD = 64;

function parseRange(v: string): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m || Number(m[1]) >= Number(m[2])) throw new CliUsageError(`--shards must be FROM:TO with FROM < TO (shard indices, TO exclusive), got '${v}'`);
  return [Number(m[1]), Number(m[2])];
}

export function registerCache(program: Command): void {
  program
    .command('cache')
    .description([
      'run a teacher over a corpus once and store its truncated next-token distributions',
      '(top-p, then top-k ids with log-probs and the tail mass) for offline distillation.',
      'An interrupted run resumes at the first missing shard; processes given disjoint',
      '--shards ranges can fill one store together. Train from it with',
      'teacher: {kind: store, path: <out>} in a recipe.',
    ].join('\n'))
    .option('--recipe <yaml>', 'take data, tokenizer, teacher and context (train.seqLen) from this recipe')
    .option('--teacher <path>', 'teacher checkpoint (overrides the recipe\'s)')
    .option('--tokenizer <path>', 'tokenizer file (overrides the recipe\'s)')
    .option('--data <file>', 'text corpus, paragraphs separated by blank lines (overrides the recipe\'s)')
    .requiredOption('--out <dir>', 'store folder (created; an existing store with the same settings is resumed)')
    .option('--k <n>', 'ids kept per position at most', intOption('--k', 1), DEFAULT_K)
    .option('--top-p <p>', 'nucleus threshold applied before top-k (1 = off)', floatOption('--top-p', 1e-9, 1), 1)
    .option('--temperature <t>', 'temperature the log-probs are taken at', floatOption('--temperature', 1e-6, 100), 1)
    .option('--encoding <e>', `log-prob encoding: ${VALUE_ENCODINGS.join(' | ')}`, DEFAULT_ENCODING)
    .option('--context <n>', `teacher window length (default: the recipe's train.seqLen, else ${DEFAULT_CONTEXT})`, intOption('--context', 1))
    .option('--shard-positions <n>', `positions per shard, a multiple of --context (default ${WINDOWS_PER_SHARD} windows)`, intOption('--shard-positions', 1))
    .option('--shards <from:to>', 'fill only shards with index in [from, to)')
    .option('--batch <n>', 'teacher windows per forward', intOption('--batch', 1), 8)
    .option('--backend <name>', 'ref | native (default: $DISTILL_BACKEND, else native when built)', backendOption)
    .option('--no-progress', 'no progress line')
    .action(async (f: CacheFlags) => {
      if (!VALUE_ENCODINGS.includes(f.encoding as ValueEncoding)) throw new CliUsageError(`--encoding must be one of ${VALUE_ENCODINGS.join(', ')}, got '${f.encoding}'`);
      const recipe = f.recipe ? loadRecipe(f.recipe) : null;
      const spec: TeacherSpec | undefined = f.teacher ? { kind: 'checkpoint', path: f.teacher, precision: 'fp32' }
        : recipe && recipe.teacher.kind !== 'none' ? recipe.teacher : undefined;
      const tokPath = f.tokenizer ?? recipe?.data.tokenizer;
      const dataPath = f.data ?? recipe?.data.path;
      if (!spec) throw new CliUsageError('no teacher: pass --teacher <checkpoint> or a --recipe that names a teacher');
      if (!tokPath || !dataPath) throw new CliUsageError('pass --tokenizer and --data, or a --recipe that names them');
      const context = f.context ?? recipe?.train.seqLen ?? DEFAULT_CONTEXT;
      const be = selectBackend(f.backend ?? (recipe && recipe.backend !== 'auto' ? recipe.backend : undefined), recipe?.threads);
      if (recipe?.data.format === 'pairs' || recipe?.data.format === 'chat') throw new CliUsageError(`${f.recipe}: data.format ${recipe.data.format} trains on padded pair rows, which a store (made over a token stream) does not hold; use a teacher that scores any text (checkpoint, onnx, llama-cpp, http) for pairs`);
      const tok = loadTokenizer(tokPath);
      const corpus = loadCorpusShards(dataPath, tok, {
        cacheDir: recipe?.data.cacheDir ?? defaultShardCacheDir(), format: recipe?.data.format, field: recipe?.data.field, valFraction: recipe?.data.validFraction,
      });
      const teacher = (await openTeacher(spec, {
        be, tokenizer: tok, batch: f.batch, seqLen: context, corpus: { train: corpus.train.tokens, val: corpus.val.tokens },
        processing: { topP: 1, labelSmoothing: 0 }, source: f.recipe ?? 'distill cache',
      }))!;
      const total = corpus.train.tokens.length + corpus.val.tokens.length;
      const bar = new JobProgress({ enabled: f.progress, label: 'cache positions', unit: 'position' });
      const t0 = performance.now();
      let r: Awaited<ReturnType<typeof fillStore>>;
      try {
        r = await fillStore({
          dir: f.out, teacher, tokenizerIdentity: tok.identity(), tokenizerSource: tokPath, vocabSize: tok.vocabSize,
          train: corpus.train.tokens, val: corpus.val.tokens, corpusSource: dataPath,
          k: f.k, topP: f.topP, temperature: f.temperature, encoding: f.encoding as ValueEncoding, context,
          shardPositions: f.shardPositions ?? context * WINDOWS_PER_SHARD, batch: f.batch,
          shardRange: f.shards ? parseRange(f.shards) : undefined,
          onProgress: (done: number, todo: number) => bar.update(done, todo, done),
        });
      } finally {
        await teacher.close?.();
      }
      bar.done();
      const secs = (performance.now() - t0) / 1000;
      console.log(`store: ${f.out} (${r.manifest.shards.length} shards, ${total} positions; k=${f.k} p=${f.topP} T=${f.temperature} ${f.encoding}, context ${context})`);
      console.log(`this run: ${r.written} shards written (${r.positions} positions), ${r.skipped} already complete, ${secs.toFixed(1)} s`);
    });
}
