// The generate-data job (`distill generate-data`): a teacher that can generate answers every
// prompt n times and the answers are appended as JSONL rows {prompt, response, teacher, sampling,
// index}, in index order. Row i (prompt floor(i/n)) is sampled from rowSeed(seed, i), so a row is
// the same whether the run went straight through or was killed and resumed; resuming keeps the
// complete rows already written and checks they came from the same teacher and settings.
// It does not open teachers, read prompt files or draw progress (the CLI does).
import { createStreamDecoder, type Tokenizer } from '../data/index.js';
import { openJsonlForAppend } from '../io/jsonl-append.js';
import { type Teacher, TeacherError } from './teacher.js';

export interface GenerateSampling {
  temperature: number;
  topK: number;
  topP: number;
  /** The run's seed; row i samples from rowSeed(seed, i). */
  seed: number;
  maxTokens: number;
}

export interface GeneratedRow {
  prompt: string;
  response: string;
  teacher: { identity: string; description: string };
  sampling: GenerateSampling;
  /** Row index: prompt floor(index / nPerPrompt), answer index % nPerPrompt. */
  index: number;
}

export interface GenerateDataOptions {
  teacher: Teacher;
  /** Encodes prompts (BOS first when it has one) and decodes responses: the teacher's ids. */
  tokenizer: Tokenizer;
  prompts: readonly string[];
  out: string;
  nPerPrompt: number;
  sampling: GenerateSampling;
  /** Generation stops at these ids (the model's and tokenizer's EOS, BOS). */
  stopIds: readonly number[];
  /** Generations in flight at once (a server answers several together). */
  concurrency: number;
  /** Stop once the file holds this many rows (a partial run; default: all). */
  limit?: number;
  /** Called after each row written: rows in the file, rows the run makes in all. */
  onProgress?: (rows: number, total: number) => void;
}

export interface GenerateDataResult { total: number; resumedFrom: number; written: number; droppedBytes: number }

/** The sampling seed of row `index` under run seed `seed` (splitmix32 of the pair). */
export function rowSeed(seed: number, index: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b9) + Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Throws unless `row` (line index+1 of the file) is row `index` of this run. */
function checkExistingRow(o: GenerateDataOptions, row: unknown, index: number): void {
  const r = row as Partial<GeneratedRow>;
  const where = `${o.out}: line ${index + 1}`;
  const redo = 'use another --out, or delete the file to start over';
  if (r.index !== index) throw new TeacherError(`${where} has index ${String(r.index)}, expected ${index}; the file was not written by this command: ${redo}`);
  if (r.teacher?.identity !== o.teacher.identity) throw new TeacherError(`${where} was made by teacher ${r.teacher?.description ?? '?'} (${r.teacher?.identity ?? '?'}), this run's is ${o.teacher.description} (${o.teacher.identity}); ${redo}`);
  if (JSON.stringify(r.sampling) !== JSON.stringify(o.sampling)) throw new TeacherError(`${where} was sampled with ${JSON.stringify(r.sampling)}, this run asks ${JSON.stringify(o.sampling)}; ${redo}`);
  if (r.prompt !== o.prompts[Math.floor(index / o.nPerPrompt)]) throw new TeacherError(`${where} answers another prompt than prompt ${Math.floor(index / o.nPerPrompt) + 1} of this run (prompts file or --n-per-prompt changed); ${redo}`);
}

export async function generateData(o: GenerateDataOptions): Promise<GenerateDataResult> {
  const { teacher, tokenizer: tok, sampling } = o;
  if (!teacher.canGenerate || !teacher.generate) throw new TeacherError(`teacher ${teacher.description} cannot generate text; generate-data needs a model or a server that continues prompts`);
  const gen = teacher.generate.bind(teacher);
  const total = o.prompts.length * o.nPerPrompt;
  const stopAt = Math.min(total, o.limit ?? total);
  const file = openJsonlForAppend(o.out);
  if (file.existing.length > total) throw new TeacherError(`${o.out} already holds ${file.existing.length} rows, more than the ${total} this run makes; use another --out`);
  file.existing.forEach((row, i) => checkExistingRow(o, row, i));
  const start = file.existing.length;
  const start0 = tok.bosId ?? tok.eosId;

  const answer = async (index: number): Promise<GeneratedRow> => {
    const prompt = o.prompts[Math.floor(index / o.nPerPrompt)];
    const ids = tok.encode(prompt);
    if (start0 !== null) ids.unshift(start0);
    if (ids.length > teacher.maxSeqLen) throw new TeacherError(`prompt ${Math.floor(index / o.nPerPrompt) + 1} has ${ids.length} tokens, more than teacher ${teacher.description}'s context of ${teacher.maxSeqLen}; shorten it`);
    const r = await gen(ids, {
      maxNewTokens: Math.min(sampling.maxTokens, teacher.maxSeqLen - ids.length), temperature: sampling.temperature,
      topK: sampling.topK, topP: sampling.topP, seed: rowSeed(sampling.seed, index), stopIds: o.stopIds,
    });
    const dec = createStreamDecoder(tok, ids[ids.length - 1]);
    let response = '';
    for (const id of r.tokens) response += dec.push(id);
    response += dec.flush();
    return { prompt, response, teacher: { identity: teacher.identity, description: teacher.description }, sampling, index };
  };

  // Up to `concurrency` answers in flight; rows are written in index order as they complete.
  const done = new Map<number, GeneratedRow>();
  let next = start, written = start;
  const worker = async (): Promise<void> => {
    while (next < stopAt) {
      const index = next++;
      done.set(index, await answer(index));
      while (done.has(written)) {
        file.append(done.get(written));
        done.delete(written);
        written++;
        o.onProgress?.(written, total);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  return { total, resumedFrom: start, written: written - start, droppedBytes: file.droppedBytes };
}
