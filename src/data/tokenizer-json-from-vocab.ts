// A scored SentencePiece-style BPE vocabulary (tok512.model, a llama2.c tokenizer.bin, a GGUF
// 'llama' vocabulary; see ggufTokenizerMetaOf) as a Hugging Face tokenizer.json in the layout
// transformers' LlamaConverter writes: a BPE model with byte fallback whose merges are every split
// of a piece into two pieces, ranked by the merged piece's score (SentencePiece merges the
// best-scoring pair first, BPE the lowest rank); "▁" prepended and spaces replaced by it; the
// decoder undoing both. It writes no file and encodes nothing itself.
import type { GgufTokenizerMeta } from '../io/gguf-tokenizer-meta.js';
import { GGUF_TOKEN_TYPES } from '../io/gguf-tokenizer-meta.js';
import { TokenizerError } from './errors.js';

const SPACE = '\u2581';

/** tokenizer.json (as an object) for a 'llama' vocabulary; `source` names it in errors. */
export function tokenizerJsonFromLlamaVocab(source: string, m: GgufTokenizerMeta): Record<string, unknown> {
  if (m.model !== 'llama' || !m.scores) throw new TokenizerError(source, `expected a scored SentencePiece-style ('llama') vocabulary, got '${m.model}'${m.scores ? '' : ' without scores'}`);
  const type = (id: number): number => m.tokenTypes?.[id] ?? GGUF_TOKEN_TYPES.NORMAL;
  const vocab = new Map<string, number>();
  m.tokens.forEach((t, id) => { if (!vocab.has(t)) vocab.set(t, id); });
  // Merges: (left, right) for every piece that can merge (normal or user-defined) and every split
  // of it into two pieces of the vocabulary; best score first, ties by the ids of left then right.
  const merges: { l: string; r: string; score: number; li: number; ri: number }[] = [];
  m.tokens.forEach((piece, id) => {
    const t = type(id);
    if (t !== GGUF_TOKEN_TYPES.NORMAL && t !== GGUF_TOKEN_TYPES.USER_DEFINED) return;
    const chars = [...piece];
    for (let i = 1; i < chars.length; i++) {
      const l = chars.slice(0, i).join(''), r = chars.slice(i).join('');
      const li = vocab.get(l), ri = vocab.get(r);
      if (li !== undefined && ri !== undefined) merges.push({ l, r, score: m.scores![id], li, ri });
    }
  });
  merges.sort((a, b) => b.score - a.score || a.li - b.li || a.ri - b.ri);
  const special = (id: number): boolean => type(id) === GGUF_TOKEN_TYPES.CONTROL || type(id) === GGUF_TOKEN_TYPES.UNKNOWN;
  const added = m.tokens.flatMap((content, id) => (special(id)
    ? [{ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }] : []));
  const bos = m.bosId !== null ? m.tokens[m.bosId] : null;
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: added,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        ...(m.addSpacePrefix === false ? [] : [{ type: 'Prepend', prepend: SPACE }]),
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: bos === null || m.addBos === false ? null : {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [bos]: { id: bos, ids: [m.bosId], tokens: [bos] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        ...(m.addSpacePrefix === false ? [] : [{ type: 'Strip', content: ' ', start: 1, stop: 0 }]),
      ],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: m.unkId !== null ? m.tokens[m.unkId] : null, continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false,
      vocab: Object.fromEntries(vocab), merges: merges.map((x) => [x.l, x.r]),
    },
  };
}
