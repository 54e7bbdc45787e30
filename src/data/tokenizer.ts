// The one interface every tokenizer in distill implements (llama2.c tokenizer.bin, SentencePiece
// .model, Hugging Face tokenizer.json), plus a streaming text decoder built on it. It holds no
// format knowledge: see load-tokenizer.ts for picking an implementation.

export type TokenizerKind = 'llama2c' | 'sentencepiece' | 'hf';

export interface EncodeOptions {
  /** Prepend the BOS id (throws if the tokenizer has none). Default false. */
  bos?: boolean;
  /** Append the EOS id (throws if the tokenizer has none). Default false. */
  eos?: boolean;
}

export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** The file it was loaded from. */
  readonly source: string;
  /** Number of ids; every id is in [0, vocabSize). */
  readonly vocabSize: number;
  /** Beginning-of-sequence id, or null when the vocabulary has none. */
  readonly bosId: number | null;
  /** End-of-sequence id, or null when the vocabulary has none. */
  readonly eosId: number | null;
  /** Padding id, or null when the vocabulary names none. */
  readonly padId: number | null;
  /** The id unknown text maps to, or null when there is none (byte-level vocabularies). */
  readonly unkId: number | null;
  /** Text to ids. Special-token text inside `text` is encoded as plain text unless the format says otherwise (HF added tokens). */
  encode(text: string, opts?: EncodeOptions): number[];
  /** Ids to text: BOS/EOS/control ids produce nothing, byte tokens are joined into UTF-8, the dummy-prefix space is dropped. */
  decode(ids: readonly number[]): string;
  /**
   * The raw bytes token `id` adds to the text when it follows `prev` (-1 at the start of a
   * stream). Bytes, not a string: one character may span several byte tokens. Feed the result to
   * a TextDecoder in stream mode, or use `createStreamDecoder`.
   */
  decodeToken(prev: number, id: number): Uint8Array;
  /** The piece string of an id as stored in the file (for display and debugging). */
  idToPiece(id: number): string;
  /**
   * A content hash of the vocabulary and the rules that map text to ids ("sha256:<hex>"). Two
   * tokenizers with equal identities give the same ids for the same text, so teacher and student
   * can be checked to agree. A llama2.c tokenizer.bin and the SentencePiece .model it was
   * exported from have the same identity when pieces, scores and whitespace rules agree.
   */
  identity(): string;
  /** Hash of identity() plus the rules mapping text to ids (normalization, format); keys shard caches. */
  encoderIdentity(): string;
}

/** Turns a stream of ids into text pieces, holding back incomplete UTF-8 sequences. */
export interface StreamDecoder {
  /** Text made complete by this id (may be ''). */
  push(id: number): string;
  /** Whatever is held back, with invalid bytes as U+FFFD. */
  flush(): string;
}

export function createStreamDecoder(tok: Tokenizer, prev = -1): StreamDecoder {
  const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  let last = prev;
  return {
    push(id: number): string {
      const bytes = tok.decodeToken(last, id);
      last = id;
      return utf8.decode(bytes, { stream: true });
    },
    flush(): string {
      return utf8.decode();
    },
  };
}

/** Checks ids are integers in [0, vocabSize); used by every decode. */
export function checkIds(tok: { vocabSize: number; source: string }, ids: readonly number[]): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= tok.vocabSize) {
      throw new RangeError(`${tok.source}: token id ${id} at position ${i} is outside [0, ${tok.vocabSize})`);
    }
  }
}
