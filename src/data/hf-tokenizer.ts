// Hugging Face tokenizer.json (byte-level BPE like GPT-2, SentencePiece-style BPE like Llama,
// and whatever else @huggingface/tokenizers supports) behind distill's Tokenizer interface. The
// encoding itself is the package's (pure JS, no network); this file only adapts it, picks BOS/EOS
// and computes identities. It does not read tokenizer_config.json chat templates.
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import { TokenizerError } from './errors.js';
import type { SpecialRole, SpecialTokenNames } from './hf-special-tokens.js';
import { checkIds, type EncodeOptions, type Tokenizer } from './tokenizer.js';
import { encoderIdentity, vocabIdentity } from './vocab-identity.js';

export interface AddedTokenJson { id: number; content: string; special?: boolean }
export interface TokenizerJson {
  model?: { type?: string; byte_fallback?: boolean; unk_token?: string | null; merges?: (string | [string, string])[] };
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  post_processor?: { type?: string; single?: { SpecialToken?: { id: string } }[] } | null;
  decoder?: { type?: string } | null;
  added_tokens?: AddedTokenJson[];
}

// Names tried, in order, when the post-processor does not say which token starts a sequence.
const BOS_NAMES = ['<s>', '<|begin_of_text|>', '<|startoftext|>', '<bos>', '<|endoftext|>'];
const EOS_NAMES = ['</s>', '<|end_of_text|>', '<|endoftext|>', '<eos>', '<|im_end|>'];
const PAD_NAMES = ['<pad>', '<|pad|>', '[PAD]'];

/** GPT-2's byte <-> printable-unicode table (bytes_to_unicode), inverted: char code -> byte. */
function unicodeToByte(): Map<number, number> {
  const map = new Map<number, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map.set(printable ? b : 256 + extra++, b);
  }
  return map;
}

/** The parts of a tokenizer.json this file and the package read, checked for type before either does. */
function checkTokenizerJson(source: string, json: TokenizerJson): asserts json is TokenizerJson & { model: NonNullable<TokenizerJson['model']> } {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(json) || !isObj(json.model)) throw new TokenizerError(source, 'not a Hugging Face tokenizer.json: no "model" object');
  if (typeof json.model.type !== 'string' && json.model.type !== undefined) throw new TokenizerError(source, `"model.type" must be a string, got ${JSON.stringify(json.model.type)}`);
  const vocab = (json.model as Record<string, unknown>).vocab;
  if (isObj(vocab)) {
    for (const [piece, id] of Object.entries(vocab)) {
      if (!Number.isInteger(id) || (id as number) < 0) throw new TokenizerError(source, `"model.vocab" maps ${JSON.stringify(piece).slice(0, 40)} to ${JSON.stringify(id)}; expected a non-negative integer id`);
    }
  }
  const merges = json.model.merges;
  if (merges !== undefined && !(Array.isArray(merges) && merges.every((m) => typeof m === 'string' || (Array.isArray(m) && m.length === 2 && m.every((x) => typeof x === 'string'))))) {
    throw new TokenizerError(source, '"model.merges" must be a list of "a b" strings or [a, b] pairs');
  }
  for (const part of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const) {
    const v: unknown = json[part];
    if (v !== undefined && v !== null && !(isObj(v) && typeof v.type === 'string')) throw new TokenizerError(source, `"${part}" must be null or an object with a string "type"`);
  }
  const added: unknown = json.added_tokens;
  if (added !== undefined && !(Array.isArray(added) && added.every((t) => isObj(t) && Number.isInteger(t.id) && (t.id as number) >= 0 && typeof t.content === 'string'))) {
    throw new TokenizerError(source, '"added_tokens" must be a list of {id: non-negative integer, content: string, ...}');
  }
}

export class HfTokenizer implements Tokenizer {
  readonly kind = 'hf' as const;
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly unkId: number | null;
  private readonly impl: HfTokenizerImpl;
  private readonly vocab: string[];
  private readonly special: Set<number>;
  private readonly byteLevel: Map<number, number> | null;
  private readonly byteFallback: boolean;
  /** The tokenizer.json it was built from (read-only: exporters convert it). */
  readonly json: TokenizerJson;
  private vocabHash = '';
  private encoderHash = '';

  /** `specials`: the roles the folder's special_tokens_map.json / tokenizer_config.json name (hf-special-tokens.ts). */
  constructor(readonly source: string, json: TokenizerJson, specials: SpecialTokenNames = {}) {
    this.json = json;
    checkTokenizerJson(source, json);
    try {
      this.impl = new HfTokenizerImpl(json, {});
    } catch (e) {
      throw new TokenizerError(source, `cannot build a tokenizer from this tokenizer.json (model type ${json.model.type ?? '?'}): ${(e as Error).message}`);
    }
    const model = this.impl.model;
    if (model === null) throw new TokenizerError(source, 'tokenizer.json has no model');
    this.vocab = model.vocab;
    this.vocabSize = this.vocab.length;
    for (let id = 0; id < this.vocabSize; id++) {
      if (typeof this.vocab[id] !== 'string') throw new TokenizerError(source, `tokenizer.json has no token for id ${id} (ids must be dense in [0, ${this.vocabSize}))`);
    }
    const added = json.added_tokens ?? [];
    this.special = new Set(added.filter((t) => t.special).map((t) => t.id));
    const byName = (names: string[]): number | null => {
      for (const n of names) {
        const t = added.find((a) => a.content === n);
        if (t) return t.id;
      }
      return null;
    };
    // Roles named by special_tokens_map.json / tokenizer_config.json win (transformers' order);
    // a named token must exist, in the added tokens or the model's vocabulary.
    const named = (role: SpecialRole): number | null | undefined => {
      const n = specials[role];
      if (!n) return undefined;
      const id = byName([n.content]) ?? this.impl.token_to_id(n.content);
      if (id === undefined || id === null) throw new TokenizerError(n.from, `${role}_token ${JSON.stringify(n.content)} is not a token of ${source}`);
      return id;
    };
    const templBos = json.post_processor?.single?.[0]?.SpecialToken?.id;
    this.bosId = named('bos') ?? (templBos !== undefined ? byName([templBos]) : null) ?? byName(BOS_NAMES);
    this.eosId = named('eos') ?? byName(EOS_NAMES);
    this.padId = named('pad') ?? byName(PAD_NAMES);
    const modelUnk = json.model.unk_token;
    this.unkId = named('unk') ?? (typeof modelUnk === 'string' ? byName([modelUnk]) ?? this.impl.token_to_id(modelUnk) ?? null : null);
    this.byteLevel = json.decoder?.type === 'ByteLevel' ? unicodeToByte() : null;
    this.byteFallback = json.model.byte_fallback === true;
  }

  /** Runs the package's tokenizer; an error in it (a tokenizer.json it accepted but cannot run) names the file. */
  private guarded<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof TokenizerError) throw e;
      throw new TokenizerError(this.source, `the tokenizer.json could not ${what}: ${(e as Error).message}`);
    }
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids = text.length === 0 ? [] : this.guarded('encode text', () => this.impl.encode(text, { add_special_tokens: false }).ids);
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new TokenizerError(this.source, `encoding gave id ${String(id)}, outside the vocabulary [0, ${this.vocabSize}); the tokenizer.json is inconsistent`);
    }
    if (opts.bos) {
      if (this.bosId === null) throw new TokenizerError(this.source, 'this tokenizer has no BOS token');
      ids.unshift(this.bosId);
    }
    if (opts.eos) {
      if (this.eosId === null) throw new TokenizerError(this.source, 'this tokenizer has no EOS token');
      ids.push(this.eosId);
    }
    return ids;
  }

  /** Special (added, special=true) tokens produce nothing; no clean-up of spaces, so decode(encode(x)) == x. */
  decode(ids: readonly number[]): string {
    checkIds(this, ids);
    const kept = ids.filter((id) => !this.special.has(id));
    if (kept.length === 0) return '';
    return this.guarded('decode ids', () => this.impl.decode(kept, { skip_special_tokens: true, clean_up_tokenization_spaces: false }));
  }

  decodeToken(prev: number, id: number): Uint8Array {
    checkIds(this, [id]);
    if (this.special.has(id)) return new Uint8Array(0);
    const tok = this.vocab[id];
    if (this.byteLevel) {
      const out = new Uint8Array(tok.length);
      let n = 0;
      for (const ch of tok) {
        const b = this.byteLevel.get(ch.codePointAt(0) as number);
        if (b === undefined) return Buffer.from(this.guarded('decode ids', () => this.impl.decode([id], { clean_up_tokenization_spaces: false })), 'utf8');
        out[n++] = b;
      }
      return out.subarray(0, n);
    }
    const m = this.byteFallback ? /^<0x([0-9A-Fa-f]{2})>$/.exec(tok) : null;
    if (m) return Uint8Array.of(parseInt(m[1], 16));
    // Generic decoders (Metaspace, Replace+Strip, WordPiece): the text this id adds after prev.
    // A byte piece alone decodes to U+FFFD (half a character), so the text after one is taken
    // after an anchor piece instead: these decoders only treat the first token of a text apart.
    if (prev < 0 || this.special.has(prev)) return Buffer.from(this.guarded('decode ids', () => this.impl.decode([id], { clean_up_tokenization_spaces: false })), 'utf8');
    const ctx = this.byteFallback && /^<0x[0-9A-Fa-f]{2}>$/.test(this.vocab[prev]) ? this.anchorId() : prev;
    const both = this.impl.decode([ctx, id], { clean_up_tokenization_spaces: false });
    const first = this.impl.decode([ctx], { clean_up_tokenization_spaces: false });
    return Buffer.from(both.startsWith(first) ? both.slice(first.length) : this.impl.decode([id], { clean_up_tokenization_spaces: false }), 'utf8');
  }

  private anchor = -1;
  /** A piece that decodes alone to plain text (not special, not a byte): context for decodeToken. */
  private anchorId(): number {
    if (this.anchor < 0) {
      this.anchor = this.vocab.findIndex((t, id) => !this.special.has(id) && !/^<0x[0-9A-Fa-f]{2}>$/.test(t) && /^[A-Za-z]+$/.test(this.impl.decode([id], { clean_up_tokenization_spaces: false })));
      if (this.anchor < 0) throw new TokenizerError(this.source, 'no plain-letter piece to decode byte-piece continuations after');
    }
    return this.anchor;
  }

  idToPiece(id: number): string {
    checkIds(this, [id]);
    return this.vocab[id];
  }

  /** Token strings in id order (no scores: BPE tokenizer.json ranks merges instead). */
  identity(): string {
    if (this.vocabHash === '') {
      this.vocabHash = vocabIdentity('hf-tokens', this.vocab.map((t) => ({ bytes: Buffer.from(t, 'utf8'), score: 0 })));
    }
    return this.vocabHash;
  }

  encoderIdentity(): string {
    if (this.encoderHash === '') {
      const j = this.json;
      this.encoderHash = encoderIdentity(this.identity(), JSON.stringify([j.model, j.normalizer ?? null, j.pre_tokenizer ?? null, j.added_tokens ?? []]));
    }
    return this.encoderHash;
  }
}
