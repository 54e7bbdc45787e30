// `distill inspect`: prints a checkpoint's config, its parameter table (name, shape, count), the
// total parameter count and the bytes on disk. Reads only; it runs no forward pass.

import type { Command } from 'commander';
import { loadCheckpoint } from '../io/load-model.js';
import { buildLayout } from '../model/index.js';

export function inspectReport(path: string): string {
  const ck = loadCheckpoint(path);
  const layout = buildLayout(ck.config);
  const lines = [`model: ${ck.path}`, `format: ${ck.source}`, 'config:'];
  for (const [k, v] of Object.entries(ck.config)) lines.push(`  ${k}: ${String(v)}`);
  lines.push('parameters:');
  const w = Math.max(...layout.entries.map((e) => e.name.length));
  for (const e of layout.entries) lines.push(`  ${e.name.padEnd(w)}  [${e.shape.join(', ')}]`.padEnd(w + 20) + `  ${e.size}`);
  lines.push(`total parameters: ${layout.total}`);
  lines.push(`bytes on disk: ${ck.bytesOnDisk}`);
  return lines.join('\n');
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('print a checkpoint\'s config, parameter table, parameter count and size on disk')
    .argument('<path>', 'checkpoint: HF folder, distill .safetensors, GGUF, or llama2.c .bin')
    .action((path: string) => {
      console.log(inspectReport(path));
    });
}
