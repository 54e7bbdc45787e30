// Opens any supported tokenizer file (or a model folder holding one, or a GGUF model with its vocabulary) and returns it behind the
// Tokenizer interface, choosing the format by extension, then by content. It knows no format
// details beyond the first bytes; each format's file holds its own parser.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { TokenizerError } from './errors.js';
import { firstBytes } from '../io/file-head.js';
import { readSpecialTokenNames } from './hf-special-tokens.js';
import { looksLikeGguf } from '../io/gguf.js';
import { tokenizerFromGguf } from './gguf-tokenizer.js';
import { HfTokenizer } from './hf-tokenizer.js';
import { Llama2cTokenizer } from './llama2c-tokenizer.js';
import { SentencePieceTokenizer } from './sentencepiece-tokenizer.js';
import { parseSentencePieceModel } from './sentencepiece-model.js';
import type { Tokenizer } from './tokenizer.js';

export type TokenizerFormat = 'llama2c' | 'sentencepiece' | 'hf' | 'gguf';

// Looked for, in this order, when loadTokenizer is given a folder.
const FOLDER_FILES = ['tokenizer.json', 'tokenizer.model', 'tokenizer.bin'];

/** Format from extension (.json, .model, .bin, .gguf), else from the first bytes; null when neither tells. */
export function detectTokenizerFormat(path: string, head: Uint8Array): TokenizerFormat | null {
  const ext = extname(path).toLowerCase();
  if (ext === '.gguf' || looksLikeGguf(head)) return 'gguf';
  if (ext === '.json') return 'hf';
  if (ext === '.model') return 'sentencepiece';
  if (ext === '.bin') return 'llama2c';
  let i = 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  if (head[i] === 0x7b) return 'hf'; // '{'
  if (head[0] === 0x0a) return 'sentencepiece'; // field 1 (pieces), length-delimited
  if (head.length >= 4 && head[2] === 0 && head[3] === 0 && (head[0] | head[1]) !== 0) return 'llama2c'; // small int32 max_token_length
  return null;
}

/**
 * Loads a tokenizer from a file, or from a folder holding tokenizer.json / tokenizer.model /
 * tokenizer.bin. Throws one TokenizerError naming the path when it is missing, truncated, or not
 * a tokenizer; `format` overrides detection.
 */

export function loadTokenizer(path: string, format?: TokenizerFormat): Tokenizer {
  if (!existsSync(path)) throw new TokenizerError(path, 'no such tokenizer file');
  let file = path;
  if (statSync(path).isDirectory()) {
    const found = FOLDER_FILES.map((f) => join(path, f)).find((f) => existsSync(f));
    if (!found) throw new TokenizerError(path, `folder holds none of ${FOLDER_FILES.join(', ')}`);
    file = found;
  }
  if (statSync(file).size === 0) throw new TokenizerError(file, 'tokenizer file is empty');
  const fmt = format ?? detectTokenizerFormat(file, firstBytes(file, 16));
  // A GGUF model (gigabytes, maybe) gives its vocabulary from its leading metadata bytes only.
  if (fmt === 'gguf') return tokenizerFromGguf(file);
  const buf = readFileSync(file);
  switch (fmt) {
    case 'hf': {
      let json: unknown;
      try {
        json = JSON.parse(buf.toString('utf8'));
      } catch (e) {
        throw new TokenizerError(file, `not a tokenizer: invalid JSON (truncated?): ${(e as Error).message}`);
      }
      // special_tokens_map.json / tokenizer_config.json beside it name BOS/EOS/PAD/UNK
      return new HfTokenizer(file, json as ConstructorParameters<typeof HfTokenizer>[1], readSpecialTokenNames(dirname(file)));
    }
    case 'sentencepiece':
      return new SentencePieceTokenizer(file, parseSentencePieceModel(file, buf));
    case 'llama2c':
      return Llama2cTokenizer.fromBuffer(file, buf);
    case null:
      throw new TokenizerError(file, 'not a tokenizer: expected a llama2.c tokenizer.bin, a SentencePiece .model, a Hugging Face tokenizer.json or a GGUF model file');
  }
}
