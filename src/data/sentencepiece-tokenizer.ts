// SentencePiece BPE encoding and decoding from a parsed .model, reproducing sentencepiece's
// normalizer (identity rule: dummy prefix, extra-whitespace removal, ' ' -> U+2581), bpe_model.cc
// merging (with UNUSED-piece resegmentation) and byte fallback. Unigram/word/char models and
// non-identity normalization rules (nmt_nfkc) are refused with a clear error, not approximated.
import { readFileSync } from 'node:fs';
import { bpeMerge, type MergeTarget } from './bpe-merge.js';
import { TokenizerError } from './errors.js';
import { parseSentencePieceModel, type SentencePieceModel } from './sentencepiece-model.js';
import { checkIds, type EncodeOptions, type Tokenizer } from './tokenizer.js';
import { encoderIdentity, vocabIdentity } from './vocab-identity.js';

const SPACE = '\u2581'; // sentencepiece kSpaceSymbol "▁"

export class SentencePieceTokenizer implements Tokenizer {
  readonly kind = 'sentencepiece' as const;
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly unkId: number;
  /** The CONTROL piece named by trainer_spec.pad_piece (default '<pad>'), when the model has one. */
  readonly padId: number | null;
  /** NORMAL, USER_DEFINED and UNUSED pieces: what merges may produce (sentencepiece pieces_). */
  private readonly mergeable = new Map<string, MergeTarget>();
  /** CONTROL, UNKNOWN and BYTE pieces (sentencepiece reserved_id_map_). */
  private readonly reserved = new Map<string, number>();
  private readonly userDefined: string[];
  private readonly byteId = new Int32Array(256).fill(-1);
  private readonly byteOf: Int16Array;
  private vocabHash = '';

  constructor(readonly source: string, readonly model: SentencePieceModel) {
    const n = model.normalizer;
    if (model.modelType !== 'BPE') {
      throw new TokenizerError(source, `unsupported model_type ${model.modelType}: only SentencePiece BPE models are implemented (this one was trained with --model_type=${model.modelType.toLowerCase()})`);
    }
    if (n.charsmapBytes > 0) {
      throw new TokenizerError(source, `unsupported normalizer '${n.name}': only the 'identity' rule is implemented (the model carries a ${n.charsmapBytes}-byte precompiled normalization table)`);
    }
    if (model.treatWhitespaceAsSuffix) throw new TokenizerError(source, 'unsupported trainer_spec.treat_whitespace_as_suffix = true');
    this.vocabSize = model.pieces.length;
    this.byteOf = new Int16Array(this.vocabSize).fill(-1);
    const userDefined: string[] = [];
    let unk = -1;
    model.pieces.forEach((p, id) => {
      const normal = p.type === 'NORMAL' || p.type === 'USER_DEFINED' || p.type === 'UNUSED';
      const table: Map<string, unknown> = normal ? this.mergeable : this.reserved;
      if (table.has(p.piece)) throw new TokenizerError(source, `piece ${JSON.stringify(p.piece)} (id ${id}) is defined twice`);
      if (normal) this.mergeable.set(p.piece, { id, score: p.score });
      else this.reserved.set(p.piece, id);
      if (p.type === 'USER_DEFINED') userDefined.push(p.piece);
      if (p.type === 'UNKNOWN') unk = id;
      if (p.type === 'BYTE') {
        const m = /^<0x([0-9A-F]{2})>$/.exec(p.piece);
        if (!m) throw new TokenizerError(source, `BYTE piece ${JSON.stringify(p.piece)} (id ${id}) is not of the form <0xXX>`);
        this.byteId[parseInt(m[1], 16)] = id;
        this.byteOf[id] = parseInt(m[1], 16);
      }
    });
    if (unk < 0) throw new TokenizerError(source, 'the model has no UNKNOWN piece (sentencepiece requires one)');
    if (model.byteFallback && this.byteId.some((x) => x < 0)) throw new TokenizerError(source, 'byte_fallback is on but not all 256 <0xXX> BYTE pieces exist');
    this.unkId = unk;
    this.userDefined = userDefined.sort((a, b) => b.length - a.length); // longest match first
    const control = (piece: string): number | null => {
      const id = this.reserved.get(piece);
      return id !== undefined && model.pieces[id].type === 'CONTROL' ? id : null;
    };
    this.bosId = control(model.bosPiece);
    this.eosId = control(model.eosPiece);
    this.padId = control(model.padPiece);
  }

  static load(path: string): SentencePieceTokenizer {
    return new SentencePieceTokenizer(path, parseSentencePieceModel(path, readFileSync(path)));
  }

  /** sentencepiece normalizer.cc with the identity rule. */
  normalize(text: string): string {
    const n = this.model.normalizer;
    let s = text;
    if (n.removeExtraWhitespaces) s = s.replace(/^ +/, '').replace(/ +$/, '').replace(/ {2,}/g, ' ');
    if (s.length === 0) return '';
    if (n.addDummyPrefix) s = ' ' + s;
    return n.escapeWhitespaces ? s.replaceAll(' ', SPACE) : s;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    if (opts.bos) ids.push(this.need(this.bosId, 'BOS'));
    const normalized = this.normalize(text);
    // Initial symbols: user-defined pieces (longest match, never merged), else one codepoint.
    const symbols: string[] = [];
    const frozen: boolean[] = [];
    for (let i = 0; i < normalized.length;) {
      const ud = this.userDefined.find((u) => normalized.startsWith(u, i));
      const cp = normalized.codePointAt(i) as number;
      const s = ud ?? String.fromCodePoint(cp);
      symbols.push(s);
      frozen.push(ud !== undefined);
      i += s.length;
    }
    const revMerge = new Map<string, [string, string]>();
    const merged = bpeMerge(symbols, (s) => this.mergeable.get(s), frozen, (m, l, r) => {
      const t = this.mergeable.get(m);
      if (t && this.model.pieces[t.id].type === 'UNUSED') revMerge.set(m, [l, r]);
    });
    let prevUnk = false;
    const emit = (w: string): void => {
      const id = this.pieceToId(w);
      const pair = this.model.pieces[id].type === 'UNUSED' ? revMerge.get(w) : undefined;
      if (pair) { emit(pair[0]); emit(pair[1]); return; }
      const unk = id === this.unkId;
      if (unk && this.model.byteFallback) {
        for (const b of Buffer.from(w, 'utf8')) ids.push(this.byteId[b]);
      } else if (!(unk && prevUnk)) ids.push(id); // a run of unknown pieces becomes one <unk>
      prevUnk = unk;
    };
    for (const w of merged) emit(w);
    if (opts.eos) ids.push(this.need(this.eosId, 'EOS'));
    return ids;
  }

  private need(id: number | null, what: string): number {
    if (id === null) throw new TokenizerError(this.source, `the model has no ${what} piece (${what === 'BOS' ? this.model.bosPiece : this.model.eosPiece} as a CONTROL piece)`);
    return id;
  }

  private pieceToId(w: string): number {
    return this.reserved.get(w) ?? this.mergeable.get(w)?.id ?? this.unkId;
  }

  private pieceText(id: number): string {
    const p = this.model.pieces[id];
    if (p.type === 'CONTROL') return '';
    if (p.type === 'UNKNOWN') return this.model.unkSurface;
    return p.piece.replaceAll(SPACE, ' ');
  }

  decodeToken(prev: number, id: number): Uint8Array {
    checkIds(this, [id]);
    if (this.byteOf[id] >= 0) return Uint8Array.of(this.byteOf[id]);
    let text = this.pieceText(id);
    const atStart = prev < 0 || (prev < this.vocabSize && this.model.pieces[prev].type === 'CONTROL');
    if (atStart && this.stripsLeadingSpace() && this.model.pieces[id].type !== 'UNKNOWN' && text.startsWith(' ')) text = text.slice(1);
    return Buffer.from(text, 'utf8');
  }

  private stripsLeadingSpace(): boolean {
    return this.model.normalizer.addDummyPrefix || this.model.normalizer.removeExtraWhitespaces;
  }

  /**
   * sentencepiece_processor.cc Decode: control pieces vanish, byte pieces join into UTF-8, one
   * leading U+2581 is consumed at the start (all leading ones when remove_extra_whitespaces).
   */
  decode(ids: readonly number[]): string {
    checkIds(this, ids);
    const removeExtra = this.model.normalizer.removeExtraWhitespaces;
    const parts: Uint8Array[] = [];
    let emitted = 0;
    let bosWsSeen = false;
    for (const id of ids) {
      if (this.byteOf[id] >= 0) { parts.push(Uint8Array.of(this.byteOf[id])); emitted++; continue; }
      const p = this.model.pieces[id];
      let text = this.pieceText(id);
      if (p.type !== 'CONTROL' && p.type !== 'UNKNOWN') {
        const isBosWs = !bosWsSeen && emitted === 0;
        if (isBosWs && this.stripsLeadingSpace() && text.startsWith(' ')) {
          text = text.slice(1);
          bosWsSeen = !removeExtra;
        }
      }
      if (text.length > 0) { parts.push(Buffer.from(text, 'utf8')); emitted++; }
    }
    return Buffer.concat(parts).toString('utf8');
  }

  idToPiece(id: number): string {
    checkIds(this, [id]);
    return this.model.pieces[id].piece;
  }

  identity(): string {
    if (this.vocabHash === '') {
      const canon = this.model.pieces.map((p) => ({ bytes: Buffer.from(p.piece.replaceAll(SPACE, ' '), 'utf8'), score: p.score }));
      this.vocabHash = vocabIdentity('scored-bpe', canon);
    }
    return this.vocabHash;
  }

  encoderIdentity(): string {
    const n = this.model.normalizer;
    const types = this.model.pieces.map((p) => p.type[0]).join('');
    return encoderIdentity(this.identity(), `sentencepiece-bpe dummy_prefix=${+n.addDummyPrefix} remove_extra_whitespaces=${+n.removeExtraWhitespaces} escape=${+n.escapeWhitespaces} byte_fallback=${+this.model.byteFallback} types=${types}`);
  }
}
