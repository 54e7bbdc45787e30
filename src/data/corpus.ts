// Reads a text corpus (paragraphs separated by blank lines) or JSONL (one document per line, in a
// string field) and turns it into BOS-prefixed token streams split into training and validation,
// following shared/data/README.md. It does not cache or write files (shards.ts does).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { DataError } from './errors.js';
import { checkIsText } from './text-check.js';
import type { Tokenizer } from './tokenizer.js';

export type CorpusFormat = 'text' | 'jsonl';

export interface CorpusOptions {
  /** 'text' or 'jsonl'; default from the extension (.jsonl / .ndjson -> jsonl, else text). */
  format?: CorpusFormat;
  /** JSONL: the string field holding each document. Default 'text' (the common convention). */
  field?: string;
  /** Share of documents, taken from the end, kept for validation. Default 0.1 (shared/data/README.md). */
  valFraction?: number;
}

export interface ResolvedCorpusOptions {
  format: CorpusFormat;
  field: string;
  valFraction: number;
}

export interface TokenizedCorpus {
  /** Training tokens: documents 0 .. trainDocs-1, each BOS + tokens, concatenated. */
  train: Uint32Array;
  /** Validation tokens: the last valDocs documents, same layout. */
  val: Uint32Array;
  trainDocs: number;
  valDocs: number;
}

export function resolveCorpusOptions(path: string, opts: CorpusOptions = {}): ResolvedCorpusOptions {
  const ext = extname(path).toLowerCase();
  const format = opts.format ?? (ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : 'text');
  if (format !== 'text' && format !== 'jsonl') throw new DataError(path, `corpus format must be 'text' or 'jsonl', got '${String(format)}'`);
  const valFraction = opts.valFraction ?? 0.1;
  if (!(valFraction >= 0 && valFraction < 1)) throw new DataError(path, `valFraction must be in [0, 1), got ${valFraction}`);
  const field = opts.field ?? 'text';
  if (field.length === 0) throw new DataError(path, 'the JSONL field name is empty');
  return { format, field, valFraction };
}

/**
 * Paragraphs of a text corpus: split at blank lines (two or more consecutive newlines, CRLF taken
 * as LF), each trimmed of surrounding whitespace, empty ones dropped. A line holding only spaces
 * does not split, so stories.txt has its documented 4,300 paragraphs. Trimming drops the trailing
 * spaces 930 of them carry, which llama2.c's encoder would otherwise turn into extra tokens.
 * A text with no empty line at all but with whitespace-only lines (WikiText's " " separators)
 * is split at those instead: its author's separators, not one giant paragraph.
 */
export function splitParagraphs(text: string): string[] {
  const lf = text.replace(/\r\n/g, '\n');
  const sep = /\n{2,}/.test(lf) || !/\n[ \t]+\n/.test(`\n${lf}\n`) ? /\n{2,}/ : /\n(?:[ \t]*\n)+/;
  return lf.split(sep).map((p) => p.trim()).filter((p) => p.length > 0);
}

/** The JSON object of every non-empty line with its 1-based line number; a line that is not one
 *  is a DataError naming it (`expected` says what the object should hold). */
export function jsonlObjects(path: string, text: string, expected: string): { line: number; rec: Record<string, unknown> }[] {
  const out: { line: number; rec: Record<string, unknown> }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length === 0) continue;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      throw new DataError(path, `not valid JSON: ${(e as Error).message}`, i + 1);
    }
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) throw new DataError(path, `expected a JSON object with ${expected}`, i + 1);
    out.push({ line: i + 1, rec: rec as Record<string, unknown> });
  }
  return out;
}

/** JSONL documents: the string `field` of every non-empty line, verbatim. Errors name file and line. */
export function parseJsonl(path: string, text: string, field: string): string[] {
  const docs: string[] = [];
  for (const { line, rec } of jsonlObjects(path, text, `a "${field}" field`)) {
    const i = line - 1;
    const v = rec[field];
    if (v === undefined) throw new DataError(path, `no "${field}" field (fields: ${Object.keys(rec).slice(0, 8).join(', ') || 'none'}); pass the right field name`, i + 1);
    if (typeof v !== 'string') throw new DataError(path, `field "${field}" is a ${typeof v}, expected a string`, i + 1);
    docs.push(v);
  }
  return docs;
}

/** Reads the corpus file; throws DataError when it is missing or holds no document. */
export function readCorpusBytes(path: string): Buffer {
  if (!existsSync(path)) throw new DataError(path, 'no such corpus file');
  if (statSync(path).isDirectory()) throw new DataError(path, 'is a folder; give a text or JSONL file');
  return readFileSync(path);
}

/** The documents of a corpus, in file order. */
export function corpusDocuments(path: string, bytes: Uint8Array, opts: ResolvedCorpusOptions): string[] {
  checkIsText(path, bytes);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const docs = opts.format === 'jsonl' ? parseJsonl(path, text, opts.field) : splitParagraphs(text);
  if (docs.length === 0) throw new DataError(path, opts.format === 'jsonl' ? 'corpus is empty: no JSONL records' : 'corpus is empty: no non-blank paragraph');
  return docs;
}

/** Number of validation documents: round(n * valFraction), at least 1 when valFraction > 0, leaving at least 1 for training. */
export function valDocCount(path: string, nDocs: number, valFraction: number): number {
  if (valFraction === 0) return 0;
  const nVal = Math.max(1, Math.round(nDocs * valFraction));
  if (nVal >= nDocs) throw new DataError(path, `only ${nDocs} document(s): too few to hold out ${valFraction * 100}% for validation and keep some for training`);
  return nVal;
}

/** Encodes each document as BOS + tokens (no EOS) and concatenates them, train first then validation. */
export function tokenizeDocuments(path: string, docs: readonly string[], tok: Tokenizer, valFraction: number): TokenizedCorpus {
  if (tok.bosId === null) throw new DataError(path, `tokenizer ${tok.source} has no BOS token to start each document with`);
  const nVal = valDocCount(path, docs.length, valFraction);
  const nTrain = docs.length - nVal;
  const encodeRange = (from: number, to: number): Uint32Array => {
    const parts: number[][] = [];
    let total = 0;
    for (let i = from; i < to; i++) {
      const ids = tok.encode(docs[i], { bos: true });
      parts.push(ids);
      total += ids.length;
    }
    const out = new Uint32Array(total);
    let off = 0;
    for (const p of parts) { out.set(p, off); off += p.length; }
    return out;
  };
  return { train: encodeRange(0, nTrain), val: encodeRange(nTrain, docs.length), trainDocs: nTrain, valDocs: nVal };
}

/** readCorpusBytes + corpusDocuments + tokenizeDocuments, without caching. */
export function tokenizeCorpus(path: string, tok: Tokenizer, opts: CorpusOptions = {}): TokenizedCorpus {
  const o = resolveCorpusOptions(path, opts);
  return tokenizeDocuments(path, corpusDocuments(path, readCorpusBytes(path), o), tok, o.valFraction);
}
