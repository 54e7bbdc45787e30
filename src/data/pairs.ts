// Prompt/response pairs for instruction-style training (data.format: pairs): a JSONL file with a
// string prompt and response field a line (what `distill generate-data` writes), tokenized as
// BOS + (prompt + response) (+ EOS when the tokenizer has one), split into training and validation
// pairs like documents. It records where each response starts so the loss can skip the prompt;
// it does not batch (pair-batcher.ts does) or cache.
import { findTokenizerConfig, loadChatTemplate, parseChats, type ChatTemplate } from './chat.js';
import { jsonlObjects, readCorpusBytes, valDocCount } from './corpus.js';
import { DataError } from './errors.js';
import type { Tokenizer } from './tokenizer.js';

export interface Pair { prompt: string; response: string }

/** Pairs tokenized and concatenated: pair i is tokens[starts[i] .. starts[i+1]) (the last ends at
 *  tokens.length), and its first response token is at starts[i] + promptLens[i]. */
export interface TokenizedPairs {
  tokens: Uint32Array;
  starts: Int32Array;
  /** Tokens of each pair that belong to BOS + prompt (not scored). */
  promptLens: Int32Array;
}

export interface PairCorpus { train: TokenizedPairs; val: TokenizedPairs }

export interface PairFields { prompt: string; response: string }

/** The pairs of a JSONL file; a bad line is a DataError naming file, line and field. */
export function parsePairs(path: string, text: string, fields: PairFields): Pair[] {
  const pairs: Pair[] = [];
  for (const { line, rec: r } of jsonlObjects(path, text, `string "${fields.prompt}" and "${fields.response}" fields`)) {
    for (const f of [fields.prompt, fields.response]) {
      if (typeof r[f] !== 'string') throw new DataError(path, `field "${f}" is ${r[f] === undefined ? 'missing' : `a ${typeof r[f]}`}, expected a string (data.promptField / data.responseField name the fields)`, line);
    }
    pairs.push({ prompt: r[fields.prompt] as string, response: r[fields.response] as string });
  }
  if (pairs.length === 0) throw new DataError(path, 'holds no prompt/response pair');
  return pairs;
}

function tokenizeRange(pairs: readonly Pair[], tok: Tokenizer): TokenizedPairs {
  const parts: number[][] = [];
  const starts = new Int32Array(pairs.length);
  const promptLens = new Int32Array(pairs.length);
  let total = 0;
  pairs.forEach((p, i) => {
    // The pair is encoded as one text (a response continues its prompt, as it was generated);
    // the prompt ends where that encoding stops agreeing with the prompt's own: a token that
    // straddles the boundary holds response text, so it is scored.
    const prompt = tok.encode(p.prompt, { bos: true });
    const ids = tok.encode(p.prompt + p.response, { bos: true });
    let n = 0;
    while (n < prompt.length && n < ids.length && prompt[n] === ids[n]) n++;
    if (tok.eosId !== null) ids.push(tok.eosId);
    starts[i] = total;
    promptLens[i] = n;
    parts.push(ids);
    total += ids.length;
  });
  const tokens = new Uint32Array(total);
  parts.forEach((p, i) => tokens.set(p, starts[i]));
  return { tokens, starts, promptLens };
}

/** Reads and tokenizes a pairs file (or, given a chat template, a file of conversations); the
 *  last valFraction of pairs are validation. */
export function loadPairCorpus(path: string, tok: Tokenizer, fields: PairFields, valFraction: number, chat?: ChatTemplate): PairCorpus {
  if (tok.bosId === null) throw new DataError(path, `tokenizer ${tok.source} has no BOS token to start each pair with`);
  const text = readCorpusBytes(path).toString('utf8');
  const pairs = chat ? parseChats(path, text, chat) : parsePairs(path, text, fields);
  const nVal = valDocCount(path, pairs.length, valFraction);
  return { train: tokenizeRange(pairs.slice(0, pairs.length - nVal), tok), val: tokenizeRange(pairs.slice(pairs.length - nVal), tok) };
}

/** What a recipe's data block says for pairs or chat (src/recipe/schema.ts Data). */
export interface PairDataOptions {
  path: string;
  format: 'pairs' | 'chat';
  promptField: string;
  responseField: string;
  validFraction: number;
  /** The tokenizer file or folder: chat looks for tokenizer_config.json beside it or in it. */
  tokenizer: string;
  chatTemplate?: string;
}

/** loadPairCorpus for a recipe's data block: pairs by field, or conversations by chat template. */
export function loadPairData(o: PairDataOptions, tok: Tokenizer): PairCorpus {
  const chat = o.format === 'chat' ? loadChatTemplate(o.chatTemplate ?? findTokenizerConfig(o.tokenizer)) : undefined;
  return loadPairCorpus(o.path, tok, { prompt: o.promptField, response: o.responseField }, o.validFraction, chat);
}
