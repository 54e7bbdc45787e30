// Tokenizers stored in GGUF metadata (`tokenizer.ggml.*`), both ways, by feeding our existing
// tokenizer classes: 'llama' (SentencePiece-style scored BPE with byte fallback) becomes a
// SentencePieceTokenizer, 'gpt2' (byte-level BPE with merges) an HfTokenizer. And our SentencePiece
// and llama2.c tokenizers become that metadata for the GGUF writer. No tokenizer algorithm lives here.
import { FormatError } from '../io/errors.js';
import { looksLikeGguf, readGgufHeader } from '../io/gguf.js';
import { firstBytes } from '../io/file-head.js';
import { existsSync, statSync } from 'node:fs';
import { GGUF_TOKEN_TYPES, type GgufTokenizerMeta, readGgufTokenizerMeta } from '../io/gguf-tokenizer-meta.js';
import { dirname } from 'node:path';
import { TokenizerError } from './errors.js';
import { readChatTemplate } from './hf-special-tokens.js';
import { HfTokenizer } from './hf-tokenizer.js';
import { Llama2cTokenizer } from './llama2c-tokenizer.js';
import type { PieceType, SentencePieceModel } from './sentencepiece-model.js';
import { SentencePieceTokenizer } from './sentencepiece-tokenizer.js';
import type { Tokenizer } from './tokenizer.js';

const SPACE = '\u2581'; // SentencePiece's "▁", which llama vocabularies store for ' '
const PIECE_TYPES: PieceType[] = ['NORMAL', 'NORMAL', 'UNKNOWN', 'CONTROL', 'USER_DEFINED', 'UNUSED', 'BYTE']; // by GGUF token type 1..6
/** tokenizer.ggml.pre values whose pre-tokenizer is GPT-2's (llama.cpp LLAMA_VOCAB_PRE_TYPE_DEFAULT / GPT2). */
const GPT2_PRE = ['default', 'gpt-2'];

/** 'llama' vocabulary -> SentencePiece BPE as llama.cpp runs it: dummy prefix, no whitespace folding, byte fallback. */
function sentencePieceFrom(source: string, m: GgufTokenizerMeta): SentencePieceTokenizer {
  const typeOf = (id: number): PieceType => {
    if (m.tokenTypes) return PIECE_TYPES[m.tokenTypes[id]];
    if (id === m.unkId) return 'UNKNOWN';
    if (id === m.bosId || id === m.eosId) return 'CONTROL';
    return /^<0x[0-9A-F]{2}>$/.test(m.tokens[id]) ? 'BYTE' : 'NORMAL';
  };
  const pieces = m.tokens.map((piece, id) => ({ piece, score: m.scores?.[id] ?? 0, type: typeOf(id) }));
  const model: SentencePieceModel = {
    pieces,
    modelType: 'BPE',
    byteFallback: pieces.some((p) => p.type === 'BYTE'),
    treatWhitespaceAsSuffix: false,
    bosPiece: m.bosId !== null ? m.tokens[m.bosId] : '<s>',
    eosPiece: m.eosId !== null ? m.tokens[m.eosId] : '</s>',
    padPiece: m.padId !== null ? m.tokens[m.padId] : '<pad>',
    unkSurface: ' \u2047 ', // sentencepiece's default; llama.cpp prints the piece itself
    normalizer: { name: 'identity', charsmapBytes: 0, addDummyPrefix: m.addSpacePrefix ?? true, removeExtraWhitespaces: false, escapeWhitespaces: true },
  };
  return new SentencePieceTokenizer(source, model);
}

/** 'gpt2' vocabulary -> a tokenizer.json object for the HF tokenizer (byte-level BPE, GPT-2 regex). */
function byteLevelBpeFrom(source: string, m: GgufTokenizerMeta): HfTokenizer {
  const pre = m.pre ?? 'default';
  if (!GPT2_PRE.includes(pre)) {
    throw new TokenizerError(source, `metadata 'tokenizer.ggml.pre' is '${pre}'; distill reads only the GPT-2 pre-tokenizer (${GPT2_PRE.join(', ')})`);
  }
  if (!m.merges) throw new TokenizerError(source, `metadata 'tokenizer.ggml.merges' is missing; a 'gpt2' tokenizer needs its merges`);
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const special = (id: number): boolean => m.tokenTypes?.[id] === GGUF_TOKEN_TYPES.CONTROL || id === m.bosId || id === m.eosId;
  const added = m.tokens.flatMap((content, id) => (special(id) || m.tokenTypes?.[id] === GGUF_TOKEN_TYPES.USER_DEFINED
    ? [{ id, content, special: special(id), single_word: false, lstrip: false, rstrip: false, normalized: false }] : []));
  const json = {
    version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
    pre_tokenizer: byteLevel, post_processor: null, decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false,
      byte_fallback: false, vocab: Object.fromEntries(m.tokens.map((t, id) => [t, id])), merges: m.merges,
    },
  };
  return new HfTokenizer(source, json as unknown as ConstructorParameters<typeof HfTokenizer>[1]);
}

/** The Tokenizer a GGUF file's metadata describes. */
export function tokenizerFromGgufMeta(source: string, m: GgufTokenizerMeta): Tokenizer {
  if (m.model === 'llama') return sentencePieceFrom(source, m);
  if (m.model === 'gpt2') return byteLevelBpeFrom(source, m);
  throw new TokenizerError(source, `metadata 'tokenizer.ggml.model' is '${m.model}'; distill reads 'llama' (SentencePiece-style) and 'gpt2' (byte-level BPE) vocabularies`);
}

/** Reads the tokenizer from a GGUF file's metadata (only the leading bytes it takes, not the
 *  weights); TokenizerError naming the file otherwise. */
export function tokenizerFromGguf(path: string): Tokenizer {
  try {
    return tokenizerFromGgufMeta(path, readGgufTokenizerMeta(readGgufHeader(path)));
  } catch (e) {
    if (e instanceof FormatError) throw new TokenizerError(path, e.message.slice(e.file.length + 2)); // FormatError prefixes "<file>: "
    throw e;
  }
}

/**
 * One of our scored-BPE tokenizers as GGUF 'llama' tokenizer metadata (what llama.cpp needs:
 * tokens, scores, token types, special ids). A llama2.c tokenizer.bin is mapped as its
 * SentencePiece origin: ' ' -> '▁', "\n<s>\n" -> "<s>", id 0 unknown, 1-2 control, <0xXX> byte.
 */
export function ggufTokenizerMetaOf(tok: Tokenizer): GgufTokenizerMeta {
  const chatTemplate = sourceChatTemplate(tok);
  const meta = vocabMetaOf(tok);
  return chatTemplate === undefined ? meta : { ...meta, chatTemplate };
}

/** The chat template the tokenizer's source carries: tokenizer_config.json beside a tokenizer.json,
 *  or a GGUF file's tokenizer.chat_template; undefined when there is none. */
export function sourceChatTemplate(tok: Tokenizer): string | undefined {
  if (tok instanceof HfTokenizer) return readChatTemplate(dirname(tok.source));
  if (existsSync(tok.source) && statSync(tok.source).isFile() && looksLikeGguf(firstBytes(tok.source, 4))) return readGgufTokenizerMeta(readGgufHeader(tok.source)).chatTemplate;
  return undefined;
}

function vocabMetaOf(tok: Tokenizer): GgufTokenizerMeta {
  if (tok instanceof SentencePieceTokenizer) {
    const p = tok.model.pieces;
    return {
      model: 'llama', tokens: p.map((x) => x.piece), scores: p.map((x) => x.score),
      tokenTypes: p.map((x) => GGUF_TOKEN_TYPES[x.type]),
      bosId: tok.bosId, eosId: tok.eosId, unkId: tok.unkId, padId: null,
      addBos: true, addEos: false, addSpacePrefix: tok.model.normalizer.addDummyPrefix,
    };
  }
  if (tok instanceof Llama2cTokenizer) {
    const tokens: string[] = [], types: number[] = [];
    for (let id = 0; id < tok.vocabSize; id++) {
      let piece = tok.idToPiece(id);
      if ((id === 1 || id === 2) && piece.startsWith('\n') && piece.endsWith('\n')) piece = piece.slice(1, -1);
      tokens.push(piece.replaceAll(' ', SPACE));
      types.push(id === 0 ? GGUF_TOKEN_TYPES.UNKNOWN : id <= 2 ? GGUF_TOKEN_TYPES.CONTROL : /^<0x[0-9A-F]{2}>$/.test(piece) ? GGUF_TOKEN_TYPES.BYTE : GGUF_TOKEN_TYPES.NORMAL);
    }
    return {
      model: 'llama', tokens, scores: Array.from(tok.scores), tokenTypes: types,
      bosId: tok.bosId, eosId: tok.eosId, unkId: 0, padId: null, addBos: true, addEos: false, addSpacePrefix: true,
    };
  }
  if (tok instanceof HfTokenizer) return llamaMetaOfHfBpe(tok);
  throw new TokenizerError(tok.source, `a ${tok.kind} tokenizer cannot be written into GGUF yet; expected a SentencePiece .model or a llama2.c tokenizer.bin (or a GGUF 'llama' vocabulary)`);
}

/** The normalizer of a Llama-style tokenizer.json: "▁" prepended, spaces replaced by "▁". */
function isLlamaNormalizer(n: unknown): boolean {
  const parts = (n as { type?: string; normalizers?: { type?: string; prepend?: string; pattern?: { String?: string }; content?: string }[] } | null)?.normalizers;
  return (n as { type?: string } | null)?.type === 'Sequence' && Array.isArray(parts) && parts.length === 2
    && parts[0].type === 'Prepend' && parts[0].prepend === SPACE
    && parts[1].type === 'Replace' && parts[1].pattern?.String === ' ' && parts[1].content === SPACE;
}

/**
 * A Llama-style tokenizer.json (BPE with byte fallback over "▁"-joined text, as transformers'
 * LlamaConverter and TinyStories-656K write it) as GGUF 'llama' metadata. llama.cpp's SentencePiece
 * tokenizer merges the adjacent pair whose merged piece scores highest, so each piece scores minus
 * the rank of the merge that makes it: the best-ranked merge first, as BPE does. Other
 * tokenizer.json layouts (byte-level BPE, WordPiece, Metaspace pre-tokenizers) are refused.
 */
function llamaMetaOfHfBpe(tok: HfTokenizer): GgufTokenizerMeta {
  const j = tok.json;
  if (j.model?.type !== 'BPE' || j.model.byte_fallback !== true || !isLlamaNormalizer(j.normalizer) || (j.pre_tokenizer != null)) {
    throw new TokenizerError(tok.source, `only a Llama-style tokenizer.json (BPE with byte_fallback, normalizer Prepend "${SPACE}" + Replace " " -> "${SPACE}", no pre-tokenizer) can be written into GGUF; this one has model ${j.model?.type ?? '?'}, byte_fallback ${String(j.model?.byte_fallback ?? false)}`);
  }
  const tokens = Array.from({ length: tok.vocabSize }, (_, id) => tok.idToPiece(id));
  const idOf = new Map(tokens.map((t, id) => [t, id]));
  const scores = new Array<number>(tokens.length).fill(0);
  const scored = new Set<number>();
  (j.model.merges ?? []).forEach((m, rank) => {
    const [l, r] = typeof m === 'string' ? m.split(' ', 2) : m;
    const id = idOf.get(l + r);
    if (id !== undefined && !scored.has(id)) { scores[id] = -rank; scored.add(id); }
  });
  const special = new Set((j.added_tokens ?? []).filter((a) => a.special).map((a) => a.id));
  const tokenTypes = tokens.map((t, id) => (id === tok.unkId ? GGUF_TOKEN_TYPES.UNKNOWN : special.has(id) ? GGUF_TOKEN_TYPES.CONTROL
    : /^<0x[0-9A-F]{2}>$/.test(t) ? GGUF_TOKEN_TYPES.BYTE : GGUF_TOKEN_TYPES.NORMAL));
  return {
    model: 'llama', tokens, scores, tokenTypes, bosId: tok.bosId, eosId: tok.eosId, unkId: tok.unkId, padId: tok.padId,
    addBos: true, addEos: false, addSpacePrefix: true,
  };
}
