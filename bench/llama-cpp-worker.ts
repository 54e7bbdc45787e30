// One llama.cpp workload of `npm run bench`, in its own process (peak RSS its own):
// `node dist/bench/llama-cpp-worker.js F32|F16 all|pp`. It writes the step bench's teacher (the
// same random stories15M-shaped weights bench/step-worker.ts builds) as GGUF in that type, runs
// B windows of T random tokens through node-llama-cpp on 2 threads, one sequence per window so a
// whole batch is one llama.cpp decode, and prints one JSON line (StepResult).
//   all: logits at every position (what a teacher needs; llama.cpp then samples each greedily)
//   pp:  prompt processing as llama-bench times it (only the last position's logits)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlledEvaluateInputItem, Token } from 'node-llama-cpp';
import { ggufTokenizerMetaOf, loadTokenizer } from '../src/data/index.js';
import { Rng } from '../src/engine/rng.js';
import { writeGgufModel } from '../src/io/gguf-write.js';
import { initParams } from '../src/model/index.js';
import { loadLlamaCpp } from '../src/teacher/llama-cpp-runtime.js';
import { medianStepSeconds } from './median-step.js';
import { B, T, TEACHER, VOCAB, type StepResult } from './step-shapes.js';

const type = process.argv[2] as 'F32' | 'F16';
const mode = process.argv[3] as 'all' | 'pp';
if (!['F32', 'F16'].includes(type) || !['all', 'pp'].includes(mode)) {
  console.error('usage: llama-cpp-worker.js F32|F16 all|pp');
  process.exit(2);
}
const warmup = Number(process.env.BENCH_WARMUP ?? '2');
const steps = Number(process.env.BENCH_STEPS ?? '5');
const threads = Number(process.env.DISTILL_THREADS ?? '2');
/** The Llama 2 vocabulary (32,000 pieces): the teacher's vocab size, and llama.cpp needs one. */
const TOKENIZER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'data', 'llama2c-tokenizer', 'tokenizer.model');

/** One llama.cpp measurement; workload names the GGUF type and mode (llama.cpp-F32-all, ...). */
export type LlamaCppResult = Omit<StepResult, 'workload'> & { workload: string };

const dir = mkdtempSync(join(tmpdir(), 'distill-bench-gguf-'));
const path = join(dir, `teacher-${type}.gguf`);
try {
  writeGgufModel(path, TEACHER, initParams(TEACHER, new Rng(2)), { type, tokenizer: ggufTokenizerMetaOf(loadTokenizer(TOKENIZER)), name: 'distill-bench' });
  // The same windows as bench/step-worker.ts (Rng(1), VOCAB ids, first T of each T+1).
  const rng = new Rng(1);
  const windows = new Int32Array(B * (T + 1));
  for (let i = 0; i < windows.length; i++) windows[i] = rng.nextInt(VOCAB);
  const inputs = Array.from({ length: B }, (_, b) => Array.from(windows.subarray(b * (T + 1), b * (T + 1) + T)) as Token[]);

  const { llama } = await loadLlamaCpp('bench llama-cpp-worker');
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  // llama.cpp's own defaults otherwise (f16 KV cache, flash attention auto): its speed as users run it.
  // Knobs for looking into llama.cpp's time (bench/README.md): windows per decode, flash attention off.
  const S = Number(process.env.BENCH_LLAMA_SEQUENCES ?? String(B));
  const fa = process.env.BENCH_LLAMA_FLASH_ATTENTION === '0' ? { flashAttention: false } : {};
  const context = await model.createContext({ contextSize: T + 1, sequences: S, batchSize: S * T, threads, ...fa });
  const seqs = Array.from({ length: S }, () => context.getSequence());
  const one = async (s: (typeof seqs)[number], b: number): Promise<void> => {
    await s.clearHistory();
    if (mode === 'pp') await s.evaluateWithoutGeneratingNewTokens(inputs[b]);
    else await s.controlledEvaluate(inputs[b].map((id): ControlledEvaluateInputItem => [id, { generateNext: { token: true } }]));
  };
  const step = async (): Promise<void> => {
    for (let b0 = 0; b0 < B; b0 += S) await Promise.all(seqs.map((s, i) => one(s, b0 + i)));
  };
  const med = await medianStepSeconds(step, warmup, steps);
  const result: LlamaCppResult & Record<string, unknown> = {
    workload: `llama.cpp-${type}-${mode}`, tokensPerSec: (B * T) / med, stepSeconds: med, steps,
    peakRssBytes: process.resourceUsage().maxRSS * 1024, threads: context.currentThreads, batchSize: context.batchSize,
    contextSize: context.contextSize, flashAttention: context.flashAttention,
  };
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
