// The recipe schema: one YAML file describes a distillation experiment. Every field is typed,
// unknown keys are rejected, kinds are discriminated unions (no component named by a free
// string). Every default says why it is what it is. This file only describes; loading,
// overrides and file checks live in load.ts.
import { z } from 'zod';
import { DEFAULT_IGNORE_INDEX } from '../engine/backend.js';
import { DIVERGENCES, TAIL_MODES, namesOf, type Divergence } from '../engine/loss-kinds.js';
import { SCHEDULES, type ScheduleField, type ScheduleSpec } from '../distill/schedules.js';
import type { TeacherSpec } from '../teacher/open-teacher.js';

const pos = z.number().positive();
const posInt = z.number().int().positive();
const frac = z.number().min(0).max(1);

/** A zod field for each schedule field type of src/distill/schedules.ts (span: optional here,
 *  the run's length when left out). */
const SCHEDULE_FIELD: Record<ScheduleField, z.ZodType> = {
  value: z.number(),
  count: z.number().int().min(0),
  span: posInt.optional(),
};

/** A scalar over training steps (α, or the KD temperature). A bare number means constant. The
 *  kinds and their fields are SCHEDULES of src/distill/schedules.ts, which evaluates them. */
export const Schedule = z.union([
  z.number(),
  z.discriminatedUnion('kind', Object.entries(SCHEDULES).map(([kind, fields]) => z.strictObject({
    kind: z.literal(kind),
    ...Object.fromEntries(Object.entries(fields).map(([f, type]) => [f, SCHEDULE_FIELD[type as ScheduleField]])),
  })) as unknown as [z.ZodObject, ...z.ZodObject[]]),
], { error: `expected a number, or a schedule {kind: ${Object.keys(SCHEDULES).join(' | ')}, ...}` }) as unknown as z.ZodType<ScheduleSpec>;
export type Schedule = ScheduleSpec;

/** A Schedule whose values (a bare number, or every `value` field: linear pieces between them stay
 *  inside) lie in [lo, hi], or (lo, hi] when `loOpen`: α in [0, 1], a temperature > 0. */
function scheduleIn(lo: number, hi: number, loOpen: boolean): z.ZodType<ScheduleSpec> {
  const range = `${loOpen ? '(' : '['}${lo}, ${hi}]`;
  return Schedule.superRefine((s, ctx) => {
    const values = typeof s === 'number' ? [s] : Object.entries(SCHEDULES[s.kind]).filter(([, t]) => t === 'value').map(([f]) => (s as unknown as Record<string, number>)[f]);
    for (const v of values) {
      if (!(loOpen ? v > lo : v >= lo) || !(v <= hi)) ctx.addIssue({ code: 'custom', message: `must lie in ${range}, got ${v}` });
    }
  }) as unknown as z.ZodType<ScheduleSpec>;
}

export const Data = z.strictObject({
  /** Corpus file: paragraphs separated by blank lines (text), one JSON object per line (jsonl),
   *  one {prompt, response} object per line (pairs: loss on the response tokens only), or one
   *  {messages: [...]} conversation per line (chat: rendered with the chat template, loss on the
   *  last, assistant message). */
  path: z.string().min(1),
  format: z.enum(['text', 'jsonl', 'pairs', 'chat']).default('text'), // text is what ../shared/data holds
  /** JSONL field holding the document text. */
  field: z.string().default('text'), // the common name in HF datasets exports
  /** pairs: the fields holding the prompt and the response. */
  promptField: z.string().min(1).default('prompt'), // what `distill generate-data` writes
  responseField: z.string().min(1).default('response'), // what `distill generate-data` writes
  /** chat: the tokenizer_config.json whose chat_template renders the conversations (default: the
   *  one beside data.tokenizer, or in its folder). */
  chatTemplate: z.string().min(1).optional(),
  /** Tokenizer file (llama2.c .bin, SentencePiece .model, HF tokenizer.json). */
  tokenizer: z.string().min(1),
  /** Last fraction of documents held out for validation. */
  validFraction: frac.default(0.1), // the convention of ../shared/data/README.md
  /** Optional separate validation file (text: paragraphs): when set, data.path is all training
   *  text and validation is the last validFraction of this file's paragraphs (text and jsonl only). */
  valPath: z.string().min(1).optional(), // off: validation is held out of data.path
  /** Where token shards are cached (default ~/.cache/distill/shards, shared by every run). */
  cacheDir: z.string().optional(),
});

export const Teacher = z.discriminatedUnion('kind', [
  // A model file distill can load: llama2.c .bin, HF folder, or a distill checkpoint. precision
  // bf16: its matmul weights rounded to bf16 once and multiplied in bf16 with fp32 sums (AMX tiles
  // where the CPU has them; docs/bf16-teacher.md), activations fp32; fp32: exact.
  z.strictObject({ kind: z.literal('checkpoint'), path: z.string().min(1), precision: z.enum(['fp32', 'bf16']).default('fp32') }),
  // No teacher: hard labels only (the CE baseline of a KD run).
  z.strictObject({ kind: z.literal('none') }),
  // An offline store of teacher rows made by `distill cache` (docs/store-format.md). `expect`:
  // optionally the teacher checkpoint it must have been made by (refused otherwise).
  z.strictObject({ kind: z.literal('store'), path: z.string().min(1), expect: z.string().min(1).optional() }),
  // A causal-LM ONNX export run by onnxruntime-node (docs/onnx.md): a .onnx file, or a folder holding
  // model.onnx or onnx/model.onnx; config.json and tokenizer.json beside it are read when present.
  z.strictObject({ kind: z.literal('onnx'), path: z.string().min(1) }),
  // Any GGUF file run by llama.cpp through node-llama-cpp (docs/llama-cpp.md): full next-token
  // distributions, as dense log-probs or as top-k sparse rows with their tail.
  z.strictObject({
    kind: z.literal('llama-cpp'), path: z.string().min(1),
    topK: posInt.default(64), // ids per sparse row: 99.8 % of stories260K's mass on average over 1,024 TinyStories val positions (max tail 9 %); dense callers ignore it
  }),
  // Servers that score token windows (docs/http-teacher.md): vLLM (/v1/completions with
  // prompt_logprobs), SGLang (/generate with input_top_logprobs) or `distill serve`; one url or a
  // fleet (urls), windows spread over them. openai: generation only (no soft labels).
  z.strictObject({
    kind: z.literal('http'),
    url: z.string().url().optional(),
    urls: z.array(z.string().url()).min(1).optional(),
    model: z.string().min(1),
    protocol: z.enum(['vllm', 'sglang', 'openai']).default('vllm'), // vLLM: the common scoring server
    topK: posInt.default(32), // ids per position, as `distill cache` keeps by default
    concurrency: posInt.default(4), // requests in flight per endpoint: keeps a server's batch full
    timeoutMs: posInt.default(120_000), // a long window on a busy server can take a while
    retries: z.number().int().min(0).default(5), // with backoff: rides out a restart
  }),
]);

/** Compile-time check: what the schema accepts is what src/teacher's openTeacher opens. */
const teacherSpecMatches: z.infer<typeof Teacher> extends TeacherSpec ? true : never = true;
void teacherSpecMatches;

const Arch = {
  family: z.enum(['llama', 'gpt2']).default('llama'), // llama matches the stories260K teacher
  dim: posInt,
  nLayers: posInt,
  nHeads: posInt,
  nKvHeads: posInt.optional(), // default: nHeads (no grouping)
  hiddenDim: posInt,
  tiedEmbeddings: z.boolean().default(true), // small students spend too much on an untied head
  maxSeqLen: posInt.optional(), // default: the teacher's, else data seqLen
  lowRank: z.record(z.string(), posInt).optional(), // dense unless given: block matrices as factors of these ranks, as `distill shrink --rank` makes them
};

export const Student = z.discriminatedUnion('kind', [
  // A fresh student of this shape; vocabulary, norms and rotary follow the teacher/tokenizer.
  z.strictObject({ kind: z.literal('config'), ...Arch }),
  // Made from the teacher (src/model/shrink.ts, docs/shrink.md): its blocks `layers`, then width
  // pruned by activation importance on the first calibrationWindows training windows, then block
  // matrices factored by truncated SVD. `distill shrink` does the same from the command line.
  z.strictObject({
    kind: z.literal('from-teacher'),
    layers: z.union([z.array(z.number().int().min(0)).min(1), z.literal('all')]).optional(), // every other block (DistilBERT) unless width or lowRank is given, then all
    width: z.strictObject({
      heads: posInt.optional(), dim: posInt.optional(), kvHeads: posInt.optional(), hiddenDim: posInt.optional(), params: posInt.optional(),
    }).optional(), // unset parts keep the teacher's
    lowRank: z.strictObject({
      rank: posInt.optional(), energy: z.number().gt(0).lt(1).optional(), matrices: z.array(z.string().min(1)).min(1).optional(),
    }).optional(), // matrices: every block matrix unless listed
    calibrationWindows: posInt.default(64), // 64 windows of 128 keep ≥ 90 % of the FFN channels and ≥ 95 % of the embedding channels a 256-window ranking keeps (docs/shrink.md)
  }),
  // Continue from a checkpoint.
  z.strictObject({ kind: z.literal('checkpoint'), path: z.string().min(1) }),
]);

/** The KD divergence: one strict object per entry of DIVERGENCES (src/engine/loss-kinds.ts), its
 *  parameter (if any) in [0,1] with the table's default. */
export const KdLoss = z.discriminatedUnion('kind', DIVERGENCES.map((d) => z.strictObject({
  kind: z.literal(d.name),
  ...(d.param ? { [d.param.key]: frac.default(d.param.default) } : {}),
})) as unknown as [z.ZodObject, ...z.ZodObject[]]) as unknown as z.ZodType<Divergence, DivergenceInput>;
/** A divergence as a recipe writes it: its parameter may be left out (the table's default). */
type DivergenceInput = { [D in Divergence as D['kind']]: { kind: D['kind'] } & Partial<Omit<D, 'kind'>> }[Divergence['kind']];

export const TeacherProcessing = z.strictObject({
  clip: pos.optional(), // clamp teacher logits to ±clip; off by default (no distortion)
  labelSmoothing: frac.default(0), // off: the teacher's distribution is already soft
  topP: z.number().gt(0).max(1).default(1), // 1 = no nucleus truncation
  topK: posInt.optional(), // no top-k truncation unless asked
  tail: z.enum(namesOf(TAIL_MODES)).default('bucket'), // keeps dropped mass honest
});

/** On-policy distillation (GKD): a λ share of micro-batches are prompts from the data continued by
 *  the student (seqKd: by the teacher), scored by the teacher, loss on the continuation only. */
export const OnPolicy = z.strictObject({
  lambda: frac.default(0.5), // GKD's (and TRL GKDTrainer's) default share of student-generated batches
  maxNewTokens: posInt.default(64), // a few sentences of a story; capped by train.seqLen
  temperature: z.number().min(0).default(1), // the student's own distribution, unsharpened (TRL's GKDConfig uses 0.9)
  promptTokens: posInt.default(16), // plain text: the first 16 tokens of a window (about a sentence's start); pairs use their prompt
  seqKd: z.boolean().default(false), // true: teacher-generated continuations (sequence-level KD)
});

/** Distillation from a teacher whose tokenizer differs from the student's (docs/cross-tokenizer.md):
 *  student windows are re-encoded by the teacher's tokenizer and aligned by byte offsets. */
export const CrossTokenizer = z.strictObject({
  method: z.enum(['uld', 'span', 'exact-map']),
  // The tokenizer the teacher's ids are of: a tokenizer file or model folder. Default: the one the
  // teacher carries (checkpoint folder, GGUF, ONNX folder, store); an http teacher needs it named.
  teacherTokenizer: z.string().min(1).optional(),
  uldWeight: pos.default(1), // ULD's term counted like one KD row's; Boizard et al. tune it per pair
});

export const Loss = z.strictObject({
  /** Weight of hard-label CE: L = α·CE + (1−α)·KD. */
  alpha: scheduleIn(0, 1, false).default(0.5), // 0.5: the reference runs of the issue (and Hinton et al.)
  kd: KdLoss.default({ kind: 'forward-kl' }), // the classic Hinton KD objective
  temperature: scheduleIn(0, 100, true).default(1), // T=1 beat T=2 in the PyTorch reference on this data
  scaleT2: z.boolean().default(true), // keeps KD gradients comparable across T (Hinton et al.)
  teacher: TeacherProcessing.default({ labelSmoothing: 0, topP: 1, tail: 'bucket' }),
  ignoreIndex: z.number().int().default(DEFAULT_IGNORE_INDEX), // -1: never a real token id
  onPolicy: OnPolicy.optional(), // off: every batch is a window of the data
  crossTokenizer: CrossTokenizer.optional(), // off: teacher and student must share a vocabulary
  // Hidden-state distillation (src/distill/hidden-loss.ts): weight × the mean over `pairs` of a
  // distance between student residual state x[s] and teacher x[t] (0 = embeddings, L = last block),
  // through a learned linear projection when their widths differ. Needs a checkpoint teacher.
  hidden: z.strictObject({
    kind: z.enum(['cosine', 'mse']).default('cosine'), // cosine: DistilBERT's
    weight: z.number().min(0).default(1), // DistilBERT weighs its cosine loss like its CE
    pairs: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])).min(1).optional(), // default: the last state of each
  }).optional(),
});

export const LrSchedule = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('constant'), warmup: z.number().int().min(0).default(0) }),
  z.strictObject({
    kind: z.literal('cosine'),
    warmup: z.number().int().min(0).default(30), // the reference runs' warmup
    minRatio: frac.default(0.1), // decay to 10% of peak, as the reference runs
  }),
  z.strictObject({
    kind: z.literal('wsd'),
    warmup: z.number().int().min(0).default(30),
    decayFraction: frac.default(0.2), // last 20% decays (MiniCPM)
    minRatio: frac.default(0),
  }),
]);

export const Train = z.strictObject({
  steps: posInt,
  batchSize: posInt.default(32), // sequences per optimizer step (the reference runs' 32)
  seqLen: posInt.default(256), // tokens per sequence (the reference runs' 256)
  gradAccum: posInt.default(1), // micro-batches per step; batchSize must divide evenly
  lr: pos.default(5e-3), // tuned for ~100K-param students in the reference runs
  schedule: LrSchedule.default({ kind: 'cosine', warmup: 30, minRatio: 0.1 }),
  beta1: frac.default(0.9), // AdamW defaults (PyTorch)
  beta2: frac.default(0.95), // 0.95 as in nanoGPT/llama for short runs
  eps: pos.default(1e-8), // PyTorch's default
  weightDecay: z.number().min(0).default(0.1), // the reference runs' 0.1, matrices only
  clip: z.number().min(0).default(1.0), // global grad-norm clip; 0 = off
  checkpointEvery: z.number().int().min(0).default(100), // a resume point every 100 steps; 0 = end only
  // A step whose loss or gradient norm is NaN/Inf is never applied: 'stop' ends the run there (the
  // last checkpoint stays good), 'skip' drops that step's update, counts it (train/skipped_steps)
  // and goes on. stop: a diverging run should be looked at, not trained through.
  nonFinite: z.enum(['stop', 'skip']).default('stop'),
});

export const Eval = z.strictObject({
  every: z.number().int().min(0).default(50), // 0 = only at the end
  maxWindows: posInt.optional(), // default: the whole validation split
  samples: z.strictObject({
    prompts: z.array(z.string()).default(['Once upon a time']), // the corpus's usual opening
    maxTokens: posInt.default(48), // a sentence or two of a story
    temperature: z.number().min(0).default(0), // greedy: comparable across runs
  }).default({ prompts: ['Once upon a time'], maxTokens: 48, temperature: 0 }),
  // out-of-domain sets the final eval also scores, each whole file: none unless named
  extra: z.array(z.strictObject({
    name: z.string().regex(/^[\w.-]+$/, 'a name of letters, digits, _ . -'),
    path: z.string().min(1),
    field: z.string().min(1).optional(), // JSONL: the corpus default ('text')
  })).default([]),
});

export const Monitor = z.strictObject({
  logEvery: posInt.default(10), // scalars every 10 steps: ~20 points for a 200-step run
  tensorboard: z.boolean().default(true),
  progress: z.boolean().default(true),
});

export const Recipe = z.strictObject({
  /** Run name: the run directory is <outDir>/<name>. */
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only'),
  outDir: z.string().default('runs'),
  seed: z.number().int().min(0).default(0), // fixes init and data order
  backend: z.enum(['auto', 'ref', 'native']).default('auto'), // auto: native when built
  threads: posInt.optional(), // default: all cores
  data: Data,
  teacher: Teacher,
  student: Student,
  loss: Loss.default({
    alpha: 0.5, kd: { kind: 'forward-kl' }, temperature: 1, scaleT2: true,
    teacher: { labelSmoothing: 0, topP: 1, tail: 'bucket' }, ignoreIndex: DEFAULT_IGNORE_INDEX,
  }),
  train: Train,
  eval: Eval.default({ every: 50, samples: { prompts: ['Once upon a time'], maxTokens: 48, temperature: 0 }, extra: [] }),
  monitor: Monitor.default({ logEvery: 10, tensorboard: true, progress: true }),
});

export type Recipe = z.infer<typeof Recipe>;
export type RecipeInput = z.input<typeof Recipe>;
