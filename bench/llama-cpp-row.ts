// The llama.cpp rows of `npm run bench`: our teacher forward (fp32, bf16) beside node-llama-cpp
// running the very same weights written as GGUF F32 and F16 (bench/llama-cpp-worker.ts, each in
// its own process), same windows (B×T), same thread count. Prints only; step.ts calls it.
import { spawnSync } from 'node:child_process';
import type { LlamaCppResult } from './llama-cpp-worker.js';
import type { StepResult } from './step-shapes.js';

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

function worker(script: string, type: 'F32' | 'F16', mode: 'all' | 'pp', env: NodeJS.ProcessEnv): LlamaCppResult | string {
  const r = spawnSync(process.execPath, [script, type, mode], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) return `exit ${r.status}: ${r.stderr.trim().split('\n').pop() ?? ''}`;
  return JSON.parse(line) as LlamaCppResult;
}

/** Runs the four llama.cpp workloads and prints them against `mine` (our teacher-forward rows). */
export function printLlamaCppRows(script: string, mine: readonly StepResult[], env: NodeJS.ProcessEnv): void {
  if (process.env.BENCH_LLAMA_CPP === '0') {
    console.log('\nllama.cpp: skipped (BENCH_LLAMA_CPP=0).');
    return;
  }
  const ours = (w: string) => mine.find((m) => m.workload === w);
  // Our precision beside the llama.cpp weight type closest to it: fp32 ~ F32; bf16 weights ~ F16.
  const pairs: [string, 'F32' | 'F16'][] = [['teacher-forward', 'F32'], ['teacher-forward-bf16', 'F16']];
  const rows: string[][] = [['ours', 'tok/s', 'RSS', 'llama.cpp (same weights)', 'tok/s', 'RSS', 'ours ÷ llama.cpp']];
  const notes: string[] = [];
  for (const [w, type] of pairs) {
    const m = ours(w);
    for (const mode of ['all', 'pp'] as const) {
      const l = worker(script, type, mode, env);
      if (typeof l === 'string') { notes.push(`llama.cpp ${type} ${mode} failed: ${l}`); continue; }
      rows.push([mode === 'all' ? w : '', m && mode === 'all' ? m.tokensPerSec.toFixed(0) : '', m && mode === 'all' ? mib(m.peakRssBytes) : '',
        `${type} ${mode === 'all' ? 'logits at every position' : 'prompt processing (last logits)'}`, l.tokensPerSec.toFixed(0), mib(l.peakRssBytes),
        m ? (m.tokensPerSec / l.tokensPerSec).toFixed(2) : '—']);
    }
  }
  const width = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => r.map((cell, c) => (c === 0 || c === 3 ? cell.padEnd(width[c]) : cell.padStart(width[c]))).join('  '));
  lines.splice(1, 0, width.map((n) => '-'.repeat(n)).join('  '));
  console.log(`\nteacher forward vs llama.cpp (node-llama-cpp prebuilt CPU binary, its default f16 KV cache and flash-attention setting):\n${lines.join('\n')}\n`);
  console.log('Same random stories15M-shaped weights (Rng(2)) as GGUF F32/F16 (src/io/gguf-write.ts), the same B×T random windows, 2 threads each;');
  console.log('llama.cpp: one sequence per window, the B windows in one decode (n_batch = n_ubatch = B·T). "all" asks logits at every position');
  console.log('(greedy-sampled in llama.cpp, as a teacher needs every row); "pp" = llama-bench\'s prompt processing, head for the last position only.');
  for (const n of notes) console.log(n);
}
