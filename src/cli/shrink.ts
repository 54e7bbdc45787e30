// `distill shrink TEACHER --out DIR`: a student made from a teacher (src/model/shrink.ts) by
// depth, width (activation importance on calibration text) and/or low rank, written as a distill
// checkpoint folder with shrink.json (what was done) and importance.json (width only), and scored
// on the val split before any training. Printing and files only; the work is in src/model.
import type { Command } from 'commander';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from '../engine/select.js';
import { loadModelAndTokenizer } from '../eval/load-pair.js';
import { corpusSplitWithBytes, evaluatePerplexity } from '../eval/perplexity.js';
import { saveCheckpoint } from '../io/checkpoint.js';
import { type Model, type ShrinkSpec, shrinkModel } from '../model/index.js';
import { firstWindows } from '../train/student-init.js';
import { shrinkRecord } from '../train/shrink-record.js';
import { backendOption, CliUsageError, floatOption, intOption } from './generate.js';

interface ShrinkFlags {
  out: string; tokenizer?: string; data: string; layers?: string;
  heads?: number; dim?: number; kvHeads?: number; hiddenDim?: number; params?: number;
  rank?: number; energy?: number; matrices?: string;
  calibWindows: number; seqLen?: number; maxWindows?: number; backend?: 'ref' | 'native'; overwrite?: boolean;
}

/** '0,2,4' or 'all' -> the layers spec (range checked by the shrink, naming student.layers). */
function parseLayers(v: string): number[] | 'all' {
  if (v === 'all') return 'all';
  const parts = v.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^-?\d+$/.test(p))) throw new CliUsageError(`--layers must be 'all' or comma-separated layer indices like 0,2,4, got '${v}'`);
  return parts.map(Number);
}

/** Default window: 256 tokens, as `distill eval` uses. */
const DEFAULT_SEQ_LEN = 256;

export function registerShrink(program: Command): void {
  program
    .command('shrink <teacher>')
    .summary('a student made from a teacher: layers kept, width pruned, matrices factored')
    .description([
      'Makes a smaller model from TEACHER, in this order:',
      '  depth: keep --layers (default every other block, unless a width or rank flag is given: then all);',
      '  width: prune heads / KV groups / FFN channels (embedding channels follow the heads: dim =',
      '         heads x head size) ranked by activation importance on the first --calib-windows',
      '         windows of the train split of --data (Minitron), to a shape or to --params;',
      '  low rank: factor block matrices by truncated SVD to --rank or --energy.',
      'Writes OUT/model.safetensors (a distill checkpoint), OUT/shrink.json and OUT/importance.json,',
      'and prints the parameter count and val loss before and after. Errors name the recipe key',
      '(student.layers, student.width.heads, student.lowRank.rank, ...) the flag sets.',
    ].join('\n'))
    .requiredOption('--out <dir>', 'output folder (a distill checkpoint folder)')
    .requiredOption('--data <file>', 'text corpus: calibration windows from its train split, the loss on its val split')
    .option('--tokenizer <path>', 'tokenizer (default: the one the teacher carries)')
    .option('--layers <list>', "blocks to keep, e.g. 0,2,4, or 'all'", parseLayers)
    .option('--heads <n>', 'query heads kept (width = heads x head size)', intOption('--heads', 1))
    .option('--dim <n>', 'embedding channels kept (a multiple of the head size; sets the heads)', intOption('--dim', 1))
    .option('--kv-heads <n>', 'KV groups kept (default: as many as the heads allow, up to the teacher\'s)', intOption('--kv-heads', 1))
    .option('--hidden-dim <n>', 'FFN channels kept per block', intOption('--hidden-dim', 1))
    .option('--params <n>', 'width to the largest shape with at most n parameters', intOption('--params', 1))
    .option('--rank <r>', 'factor block matrices to rank r', intOption('--rank', 1))
    .option('--energy <e>', 'factor to the smallest rank keeping this share of the squared singular values', floatOption('--energy', 0, 1))
    .option('--matrices <list>', 'which block matrices to factor (default all), e.g. w1,w2,w3')
    .option('--calib-windows <n>', 'calibration windows for the importance ranking', intOption('--calib-windows', 1), 64)
    .option('--seq-len <n>', `T, tokens per window (default ${DEFAULT_SEQ_LEN}, capped at the model's context)`, intOption('--seq-len', 1))
    .option('--max-windows <n>', 'score only the first n val windows', intOption('--max-windows', 1))
    .option('--backend <name>', 'ref | native (default: $DISTILL_BACKEND, else native when built)', backendOption)
    .option('--overwrite', 'replace an existing --out')
    .action(async (teacherPath: string, f: ShrinkFlags) => {
      if (existsSync(f.out) && !f.overwrite) throw new CliUsageError(`${f.out} already exists; pass --overwrite to replace it`);
      const be = selectBackend(f.backend);
      const { model: teacher, tokenizer } = loadModelAndTokenizer(teacherPath, f.tokenizer);
      const T = f.seqLen ?? Math.min(DEFAULT_SEQ_LEN, teacher.config.maxSeqLen);
      const width = [f.heads, f.dim, f.kvHeads, f.hiddenDim, f.params].some((v) => v !== undefined)
        ? { heads: f.heads, dim: f.dim, kvHeads: f.kvHeads, hiddenDim: f.hiddenDim, params: f.params } : undefined;
      const lowRank = f.rank !== undefined || f.energy !== undefined || f.matrices !== undefined
        ? { rank: f.rank, energy: f.energy, matrices: f.matrices?.split(',').map((m) => m.trim()) } : undefined;
      const spec: ShrinkSpec = { layers: f.layers as ShrinkSpec['layers'], width, lowRank };
      const train = corpusSplitWithBytes(f.data, tokenizer, 'train').tokens;
      const r = shrinkModel(be, teacher, spec, { windows: firstWindows(train, f.calibWindows, T), T }, 'student');
      const val = corpusSplitWithBytes(f.data, tokenizer, 'val');
      const score = (m: Model) => evaluatePerplexity(be, m, val.tokens, { seqLen: T, maxWindows: f.maxWindows, tokenBytes: val.tokenBytes });
      const before = await score(teacher), after = await score(r.model);
      if (f.overwrite) rmSync(f.out, { recursive: true, force: true });
      const file = saveCheckpoint(f.out, r.model.config, r.model.params, { shrunkFrom: teacherPath });
      writeFileSync(join(f.out, 'shrink.json'), JSON.stringify({ teacher: teacherPath, ...shrinkRecord(r, teacher), valLossBefore: before.meanLoss, valLossAfter: after.meanLoss }, null, 1) + '\n');
      if (r.importance) writeFileSync(join(f.out, 'importance.json'), JSON.stringify(r.importance) + '\n');
      const c = r.model.config;
      console.log(`teacher: ${teacherPath}: ${teacher.layout.total} parameters (${teacher.config.nLayers} layers, dim ${teacher.config.dim}, ${teacher.config.nHeads} heads / ${teacher.config.nKvHeads} KV, hidden ${teacher.config.hiddenDim})`);
      console.log(`shrunk:  ${file}: ${r.model.layout.total} parameters (${(100 * r.model.layout.total / teacher.layout.total).toFixed(1)} %; layers ${r.layers.join(',')}, dim ${c.dim}, ${c.nHeads} heads / ${c.nKvHeads} KV, hidden ${c.hiddenDim}${r.ranks ? `, ranks ${JSON.stringify(r.ranks)}` : ''})`);
      if (r.energyKept) console.log(`energy kept (least over layers): ${Object.entries(r.energyKept).map(([m, e]) => `${m} ${e.toFixed(4)}`).join(', ')}`);
      if (r.importance) console.log(`importance: ${join(f.out, 'importance.json')} (${r.importance.windows} calibration windows of ${T}, ${r.importance.tokens} tokens)`);
      console.log(`val loss before training (${val.tokens.length} val tokens, ${after.windows} windows of ${T}): teacher ${before.meanLoss.toFixed(4)} nats/token (${before.bitsPerByte!.toFixed(4)} bits/byte), shrunk ${after.meanLoss.toFixed(4)} nats/token (${after.bitsPerByte!.toFixed(4)} bits/byte)`);
    });
}
