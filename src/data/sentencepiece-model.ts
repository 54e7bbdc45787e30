// Parses a SentencePiece ModelProto (.model file) into a typed description: pieces with scores and
// types, and the trainer/normalizer flags that change encoding. It does not encode text
// (sentencepiece-tokenizer.ts does) and ignores fields that only matter for training.
import { ProtoDecodeError, readProtoFields, type ProtoField } from '../io/protobuf-wire.js';

const WIRE_VARINT = 0, WIRE_LEN = 2, WIRE_I32 = 5;
// ignoreBOM: a piece may be exactly U+FEFF (the Llama 2 vocabulary has one); do not strip it.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const fieldString = (f: ProtoField): string => utf8.decode(f.bytes);
import { TokenizerError } from './errors.js';

/** sentencepiece_model.proto SentencePiece.Type */
export type PieceType = 'NORMAL' | 'UNKNOWN' | 'CONTROL' | 'USER_DEFINED' | 'UNUSED' | 'BYTE';
const PIECE_TYPES: Record<number, PieceType> = { 1: 'NORMAL', 2: 'UNKNOWN', 3: 'CONTROL', 4: 'USER_DEFINED', 5: 'UNUSED', 6: 'BYTE' };
/** sentencepiece_model.proto TrainerSpec.ModelType */
export type ModelType = 'UNIGRAM' | 'BPE' | 'WORD' | 'CHAR';
const MODEL_TYPES: Record<number, ModelType> = { 1: 'UNIGRAM', 2: 'BPE', 3: 'WORD', 4: 'CHAR' };

export interface SentencePiece {
  piece: string;
  score: number;
  type: PieceType;
}

export interface SentencePieceModel {
  pieces: SentencePiece[];
  modelType: ModelType;
  byteFallback: boolean;
  treatWhitespaceAsSuffix: boolean;
  bosPiece: string;
  eosPiece: string;
  padPiece: string;
  unkSurface: string;
  normalizer: {
    name: string;
    /** Length of the precompiled normalization table; non-zero means a non-identity rule (e.g. nmt_nfkc). */
    charsmapBytes: number;
    addDummyPrefix: boolean;
    removeExtraWhitespaces: boolean;
    escapeWhitespaces: boolean;
  };
}

// Field numbers from sentencepiece_model.proto.
const MODEL = { pieces: 1, trainerSpec: 2, normalizerSpec: 3 };
const PIECE = { piece: 1, score: 2, type: 3 };
const TRAINER = { modelType: 3, treatWhitespaceAsSuffix: 24, byteFallback: 35, unkSurface: 44, bosPiece: 46, eosPiece: 47, padPiece: 48 };
const NORMALIZER = { name: 1, charsmap: 2, addDummyPrefix: 3, removeExtraWhitespaces: 4, escapeWhitespaces: 5 };

/** Parses ModelProto bytes; throws TokenizerError naming `source` when they are not one. */
export function parseSentencePieceModel(source: string, buf: Uint8Array): SentencePieceModel {
  const m: SentencePieceModel = {
    pieces: [],
    modelType: 'UNIGRAM', // proto default
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    bosPiece: '<s>',
    eosPiece: '</s>',
    padPiece: '<pad>',
    unkSurface: ' \u2047 ', // sentencepiece kDefaultUnknownSymbol
    normalizer: { name: '', charsmapBytes: 0, addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true },
  };
  const expect = (ok: boolean, what: string): void => {
    if (!ok) throw new ProtoDecodeError(what);
  };
  try {
    for (const f of readProtoFields(buf)) {
      if (f.field === MODEL.pieces) {
        expect(f.wireType === WIRE_LEN, `ModelProto.pieces has wire type ${f.wireType}`);
        const p: SentencePiece = { piece: '', score: 0, type: 'NORMAL' };
        let sawPiece = false;
        for (const g of readProtoFields(f.bytes)) {
          if (g.field === PIECE.piece && g.wireType === WIRE_LEN) { p.piece = fieldString(g); sawPiece = true; }
          else if (g.field === PIECE.score && g.wireType === WIRE_I32) p.score = g.num;
          else if (g.field === PIECE.type && g.wireType === WIRE_VARINT) {
            const t = PIECE_TYPES[g.num];
            expect(t !== undefined, `piece ${m.pieces.length} has unknown type ${g.num}`);
            p.type = t;
          }
        }
        expect(sawPiece, `piece ${m.pieces.length} has no piece string`);
        m.pieces.push(p);
      } else if (f.field === MODEL.trainerSpec && f.wireType === WIRE_LEN) {
        for (const g of readProtoFields(f.bytes)) {
          if (g.field === TRAINER.modelType && g.wireType === WIRE_VARINT) {
            const t = MODEL_TYPES[g.num];
            expect(t !== undefined, `trainer_spec.model_type ${g.num} is unknown`);
            m.modelType = t;
          } else if (g.field === TRAINER.byteFallback && g.wireType === WIRE_VARINT) m.byteFallback = g.num !== 0;
          else if (g.field === TRAINER.treatWhitespaceAsSuffix && g.wireType === WIRE_VARINT) m.treatWhitespaceAsSuffix = g.num !== 0;
          else if (g.field === TRAINER.unkSurface && g.wireType === WIRE_LEN) m.unkSurface = fieldString(g);
          else if (g.field === TRAINER.bosPiece && g.wireType === WIRE_LEN) m.bosPiece = fieldString(g);
          else if (g.field === TRAINER.eosPiece && g.wireType === WIRE_LEN) m.eosPiece = fieldString(g);
          else if (g.field === TRAINER.padPiece && g.wireType === WIRE_LEN) m.padPiece = fieldString(g);
        }
      } else if (f.field === MODEL.normalizerSpec && f.wireType === WIRE_LEN) {
        for (const g of readProtoFields(f.bytes)) {
          if (g.field === NORMALIZER.name && g.wireType === WIRE_LEN) m.normalizer.name = fieldString(g);
          else if (g.field === NORMALIZER.charsmap && g.wireType === WIRE_LEN) m.normalizer.charsmapBytes = g.bytes.length;
          else if (g.field === NORMALIZER.addDummyPrefix && g.wireType === WIRE_VARINT) m.normalizer.addDummyPrefix = g.num !== 0;
          else if (g.field === NORMALIZER.removeExtraWhitespaces && g.wireType === WIRE_VARINT) m.normalizer.removeExtraWhitespaces = g.num !== 0;
          else if (g.field === NORMALIZER.escapeWhitespaces && g.wireType === WIRE_VARINT) m.normalizer.escapeWhitespaces = g.num !== 0;
        }
      }
    }
  } catch (e) {
    if (e instanceof ProtoDecodeError) throw new TokenizerError(source, `not a valid SentencePiece model (truncated or not a ModelProto): ${e.message}`);
    throw e;
  }
  if (m.pieces.length === 0) throw new TokenizerError(source, 'not a SentencePiece model: it holds no pieces');
  return m;
}
