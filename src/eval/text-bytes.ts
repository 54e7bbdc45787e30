// Bytes of text per token, for losses per byte (bits/byte), which rank models whatever their
// tokenizers. Each token counts the UTF-8 bytes it adds when decoded after the token before it
// (Tokenizer.decodeToken: BOS/EOS add none, a dummy-prefix space adds none, a byte piece its byte).
// A lossy tokenizer decodes to fewer bytes than the text had (text it maps to <unk>); the bytes
// missing from a document are given to that document's <unk> tokens (evenly), or to its last token
// when it has none, so every document counts exactly its own bytes.
import type { Tokenizer } from '../data/index.js';
import { EvalError } from './errors.js';

/**
 * Bytes per token of `tokens`: `docs` encoded one after another as BOS + ids (the corpus
 * convention of src/data tokenizeDocuments), in the same order.
 */
export function documentTokenBytes(tok: Tokenizer, docs: readonly string[], tokens: ArrayLike<number>): Float64Array {
  const out = new Float64Array(tokens.length);
  let at = 0;
  for (let d = 0; d < docs.length; d++) {
    if (tokens[at] !== tok.bosId) throw new EvalError(`token ${at} should be the BOS that starts document ${d}, got id ${tokens[at]}`);
    const start = at++;
    let decoded = 0;
    const unks: number[] = [];
    while (at < tokens.length && tokens[at] !== tok.bosId) {
      out[at] = tok.decodeToken(tokens[at - 1], tokens[at]).length;
      decoded += out[at];
      if (tokens[at] === tok.unkId) unks.push(at);
      at++;
    }
    const missing = Buffer.byteLength(docs[d], 'utf8') - decoded;
    if (missing !== 0) {
      const to = unks.length ? unks : [at - 1 > start ? at - 1 : start];
      for (const i of to) out[i] += missing / to.length;
    }
  }
  if (at !== tokens.length) throw new EvalError(`${tokens.length - at} tokens left after the ${docs.length} documents`);
  return out;
}
