// The llama2.c tokenizer.bin format and its encoder/decoder, matching karpathy/llama2.c run.c:
// codepoints looked up (else <0xXX> byte tokens at id byte+3), dummy-prefix " " token, greedy
// best-score pair merging; BOS = 1, EOS = 2. It does not read SentencePiece .model files.
import { readFileSync } from 'node:fs';
import { bpeMerge, type MergeTarget } from './bpe-merge.js';
import { TokenizerError } from './errors.js';
import { checkIds, type EncodeOptions, type Tokenizer } from './tokenizer.js';
import { encoderIdentity, vocabIdentity } from './vocab-identity.js';

const BOS = 1; // hard-coded in llama2.c run.c
const EOS = 2;
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/**
 * Pieces are held as "binary" strings (one char per byte, latin1) so lookups and merges work on
 * bytes exactly as run.c's C strings do.
 */
export class Llama2cTokenizer implements Tokenizer {
  readonly kind = 'llama2c' as const;
  readonly vocabSize: number;
  readonly bosId = BOS;
  readonly eosId = EOS;
  /** llama2.c's vocabularies are Llama's: id 0 is <unk>; there is no padding token. */
  readonly unkId = 0;
  readonly padId = null;
  readonly maxTokenLength: number;
  private readonly pieces: string[];
  /** Score per id (read by the GGUF writer's tokenizer export). */
  readonly scores: Float32Array;
  private readonly lookupMap = new Map<string, MergeTarget>();
  private readonly byteOf: Int16Array; // id -> raw byte for <0xXX> pieces, else -1
  private readonly spaceId: number;
  private vocabHash = '';

  constructor(readonly source: string, pieces: string[], scores: Float32Array, maxTokenLength: number) {
    this.pieces = pieces;
    this.scores = scores;
    this.vocabSize = pieces.length;
    this.maxTokenLength = maxTokenLength;
    if (this.vocabSize < 3) throw new TokenizerError(source, `llama2.c tokenizer has ${this.vocabSize} tokens; needs at least 3 (<unk>, BOS, EOS)`);
    this.byteOf = new Int16Array(pieces.length).fill(-1);
    for (let id = 0; id < pieces.length; id++) {
      // Like run.c's bsearch over the sorted vocab, a duplicate string maps to one id: keep the first.
      if (!this.lookupMap.has(pieces[id])) this.lookupMap.set(pieces[id], { id, score: scores[id] });
      const m = BYTE_PIECE.exec(pieces[id]);
      if (m) this.byteOf[id] = parseInt(m[1], 16);
    }
    this.spaceId = this.lookupMap.get(' ')?.id ?? -1;
  }

  static fromBuffer(source: string, buf: Uint8Array): Llama2cTokenizer {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (buf.byteLength < 4) throw new TokenizerError(source, `llama2.c tokenizer.bin is ${buf.byteLength} bytes; too short for its header`);
    const maxTokenLength = view.getInt32(0, true);
    if (maxTokenLength <= 0 || maxTokenLength > 1 << 16) {
      throw new TokenizerError(source, `not a llama2.c tokenizer.bin: max_token_length ${maxTokenLength} is not in [1, 65536]`);
    }
    const pieces: string[] = [];
    const scores: number[] = [];
    let off = 4;
    while (off < buf.byteLength) {
      if (off + 8 > buf.byteLength) throw new TokenizerError(source, `truncated llama2.c tokenizer.bin: token ${pieces.length} header at byte ${off} runs past the end (${buf.byteLength} bytes)`);
      const score = view.getFloat32(off, true);
      const len = view.getInt32(off + 4, true);
      if (len < 0 || len > maxTokenLength) throw new TokenizerError(source, `not a llama2.c tokenizer.bin: token ${pieces.length} has length ${len}, outside [0, max_token_length ${maxTokenLength}]`);
      if (off + 8 + len > buf.byteLength) throw new TokenizerError(source, `truncated llama2.c tokenizer.bin: token ${pieces.length} (${len} bytes at byte ${off + 8}) runs past the end (${buf.byteLength} bytes)`);
      pieces.push(Buffer.from(buf.buffer, buf.byteOffset + off + 8, len).toString('latin1'));
      scores.push(score);
      off += 8 + len;
    }
    return new Llama2cTokenizer(source, pieces, Float32Array.from(scores), maxTokenLength);
  }

  static load(path: string): Llama2cTokenizer {
    return Llama2cTokenizer.fromBuffer(path, readFileSync(path));
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    if (opts.bos) ids.push(BOS);
    if (text.length > 0) {
      const symbols: string[] = [];
      if (this.spaceId >= 0) symbols.push(' '); // run.c: add_dummy_prefix when text is non-empty
      const bytes = Buffer.from(text, 'utf8');
      // run.c groups a lead byte with up to 3 continuation bytes, looks the group up, else byte-falls back.
      let i = 0;
      while (i < bytes.length) {
        let j = i + 1;
        while (j < bytes.length && (bytes[j] & 0xc0) === 0x80 && j - i < 4) j++;
        const s = bytes.toString('latin1', i, j);
        if (this.lookupMap.has(s)) symbols.push(s);
        else for (let k = i; k < j; k++) symbols.push(this.bytePiece(bytes[k], text));
        i = j;
      }
      // run.c starts best_score at -1e10, so pieces scoring at or below it never win a merge.
      const mergeable = (m: string): MergeTarget | undefined => {
        const t = this.lookupMap.get(m);
        return t !== undefined && t.score > -1e10 ? t : undefined;
      };
      for (const s of bpeMerge(symbols, mergeable)) ids.push((this.lookupMap.get(s) as MergeTarget).id);
    }
    if (opts.eos) ids.push(EOS);
    return ids;
  }

  private bytePiece(b: number, text: string): string {
    const id = b + 3;
    if (id >= this.vocabSize) throw new TokenizerError(this.source, `cannot encode ${JSON.stringify(text.slice(0, 40))}: byte 0x${b.toString(16)} needs byte-fallback token ${id} but the vocabulary has ${this.vocabSize}`);
    return this.pieces[id];
  }

  decodeToken(prev: number, id: number): Uint8Array {
    checkIds(this, [id]);
    if (this.byteOf[id] >= 0) return Uint8Array.of(this.byteOf[id]);
    let piece = this.pieces[id];
    if (id === BOS || id === EOS) return new Uint8Array(0); // control tokens have no surface text
    // run.c strips the dummy-prefix space after BOS; we also strip it at the start of a stream (prev -1).
    if ((prev === BOS || prev < 0) && piece.startsWith(' ')) piece = piece.slice(1);
    return Buffer.from(piece, 'latin1');
  }

  /** run.c's token-by-token output joined, except that the leading dummy-prefix space is also dropped without a BOS. */
  decode(ids: readonly number[]): string {
    checkIds(this, ids);
    const parts: Uint8Array[] = [];
    let prev = BOS;
    for (const id of ids) {
      parts.push(this.decodeToken(prev, id));
      prev = id;
    }
    return Buffer.concat(parts).toString('utf8');
  }

  idToPiece(id: number): string {
    checkIds(this, [id]);
    return Buffer.from(this.pieces[id], 'latin1').toString('utf8');
  }

  /** Canonical vocabulary: run.c's "\n<s>\n" / "\n</s>\n" exports of BOS/EOS are taken as "<s>" / "</s>". */
  identity(): string {
    if (this.vocabHash === '') {
      const canon = this.pieces.map((p, id) => {
        let s = p;
        if ((id === BOS || id === EOS) && s.startsWith('\n') && s.endsWith('\n')) s = s.slice(1, -1);
        return { bytes: Buffer.from(s, 'latin1'), score: this.scores[id] };
      });
      this.vocabHash = vocabIdentity('scored-bpe', canon);
    }
    return this.vocabHash;
  }

  encoderIdentity(): string {
    return encoderIdentity(this.identity(), 'llama2c-run.c dummy_prefix=1 remove_extra_whitespaces=0 byte_fallback=1');
  }
}
