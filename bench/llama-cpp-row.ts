// The llama.cpp rows of `npm run bench`: our teacher forward (fp32, bf16) beside node-llama-cpp
// running the very same weights written as GGUF F32 and F16 (bench/llama-cpp-worker.ts, each in
// its own process), same windows (B×T), same thread count, in two pairings: logits at every
// position (what a teacher computes), and the forward without the head (what llama.cpp's prompt
// processing computes). Prints only; step.ts calls it.
import { spawnSync } from 'node:child_process';
import { NODE_LLAMA_CPP_VERSION } from '../src/teacher/llama-cpp-runtime.js';
import type { LlamaCppResult } from './llama-cpp-worker.js';
import { flopsPerToken, forwardFlopsPerToken, hiddenFlopsPerToken, TEACHER, type StepResult, type Workload } from './step-shapes.js';

function worker(script: string, type: 'F32' | 'F16', mode: 'all' | 'pp', env: NodeJS.ProcessEnv): LlamaCppResult | string {
  const r = spawnSync(process.execPath, [script, type, mode], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) return `exit ${r.status}: ${r.stderr.trim().split('\n').pop() ?? ''}`;
  return JSON.parse(line) as LlamaCppResult;
}

const PAIRS: { what: string; ours: Workload; type: 'F32' | 'F16'; mode: 'all' | 'pp' }[] = [
  { what: 'fp32, logits at every position', ours: 'teacher-forward', type: 'F32', mode: 'all' },
  { what: 'fp32, no head (prompt processing)', ours: 'teacher-hidden', type: 'F32', mode: 'pp' },
  { what: '16-bit weights, logits at every position', ours: 'teacher-forward-bf16', type: 'F16', mode: 'all' },
  { what: '16-bit weights, no head (prompt processing)', ours: 'teacher-hidden-bf16', type: 'F16', mode: 'pp' },
];

/**
 * Runs the llama.cpp workloads and our matching ones (`mine` holds those already measured;
 * `runOurs` measures the rest) and prints them side by side with model GFLOP/s and the ratio.
 */
export function printLlamaCppRows(script: string, mine: readonly StepResult[], runOurs: (w: Workload) => StepResult, env: NodeJS.ProcessEnv): void {
  if (process.env.BENCH_LLAMA_CPP === '0') {
    console.log('\nllama.cpp: skipped (BENCH_LLAMA_CPP=0).');
    return;
  }
  const rows: string[][] = [['pairing', 'ours', 'tok/s', 'GFLOP/s', 'RSS', 'llama.cpp', 'tok/s', 'GFLOP/s', 'RSS', 'ours ÷ llama.cpp']];
  const notes: string[] = [];
  const gflops = (tps: number, perTok: number) => ((tps * perTok) / 1e9).toFixed(0);
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  for (const p of PAIRS) {
    const m = mine.find((x) => x.workload === p.ours) ?? runOurs(p.ours);
    const l = worker(script, p.type, p.mode, env);
    if (typeof l === 'string') { notes.push(`llama.cpp ${p.type} ${p.mode} failed: ${l}`); continue; }
    const lPerTok = p.mode === 'all' ? forwardFlopsPerToken(TEACHER) : hiddenFlopsPerToken(TEACHER);
    rows.push([p.what, p.ours, m.tokensPerSec.toFixed(0), gflops(m.tokensPerSec, flopsPerToken(p.ours)), mib(m.peakRssBytes),
      `${p.type} ${p.mode}`, l.tokensPerSec.toFixed(0), gflops(l.tokensPerSec, lPerTok), mib(l.peakRssBytes), (m.tokensPerSec / l.tokensPerSec).toFixed(2)]);
  }
  const width = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => r.map((cell, c) => ([0, 1, 5].includes(c) ? cell.padEnd(width[c]) : cell.padStart(width[c]))).join('  '));
  lines.splice(1, 0, width.map((n) => '-'.repeat(n)).join('  '));
  console.log(`\nteacher forward vs llama.cpp (node-llama-cpp ${NODE_LLAMA_CPP_VERSION} prebuilt CPU binary, its default f16 KV cache and flash-attention setting):\n${lines.join('\n')}\n`);
  console.log('Same random stories15M-shaped weights (Rng(2)), written as GGUF F32/F16 by src/io/gguf-write.ts, the same B×T random windows, 2 threads each.');
  console.log('llama.cpp: one sequence per window, the B windows in one decode (n_batch = n_ubatch = B·T). "all": logits at every position');
  console.log('(node-llama-cpp then samples each position greedily: the only way it returns every row); "pp": llama-bench\'s prompt processing,');
  console.log('the head for the last position only, beside our forward to the final hidden states (teacher-hidden). Ours at 16 bits is bf16');
  console.log('(ModelTeacher precision bf16), llama.cpp\'s F16. GFLOP/s = tok/s × model FLOPs per token (pp/teacher-hidden: without the head).');
  for (const n of notes) console.log(n);
}
