// Parses a SentencePiece ModelProto (.model file) into a typed description: pieces with scores and
// types, and the trainer/normalizer flags that change encoding. It does not encode text
// (sentencepiece-tokenizer.ts does) and ignores fields that only matter for training.
import { fieldFloat, fieldString, ProtoDecodeError, readFields, WIRE_I32, WIRE_LEN, WIRE_VARINT } from './protobuf-reader.js';
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
const TRAINER = { modelType: 3, treatWhitespaceAsSuffix: 24, byteFallback: 35, unkSurface: 44, bosPiece: 46, eosPiece: 47 };
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
    unkSurface: ' \u2047 ', // sentencepiece kDefaultUnknownSymbol
    normalizer: { name: '', charsmapBytes: 0, addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true },
  };
  const expect = (ok: boolean, what: string): void => {
    if (!ok) throw new ProtoDecodeError(what);
  };
  try {
    for (const f of readFields(buf)) {
      if (f.field === MODEL.pieces) {
        expect(f.wire === WIRE_LEN, `ModelProto.pieces has wire type ${f.wire}`);
        const p: SentencePiece = { piece: '', score: 0, type: 'NORMAL' };
        let sawPiece = false;
        for (const g of readFields(f.bytes)) {
          if (g.field === PIECE.piece && g.wire === WIRE_LEN) { p.piece = fieldString(g); sawPiece = true; }
          else if (g.field === PIECE.score && g.wire === WIRE_I32) p.score = fieldFloat(g);
          else if (g.field === PIECE.type && g.wire === WIRE_VARINT) {
            const t = PIECE_TYPES[g.int];
            expect(t !== undefined, `piece ${m.pieces.length} has unknown type ${g.int}`);
            p.type = t;
          }
        }
        expect(sawPiece, `piece ${m.pieces.length} has no piece string`);
        m.pieces.push(p);
      } else if (f.field === MODEL.trainerSpec && f.wire === WIRE_LEN) {
        for (const g of readFields(f.bytes)) {
          if (g.field === TRAINER.modelType && g.wire === WIRE_VARINT) {
            const t = MODEL_TYPES[g.int];
            expect(t !== undefined, `trainer_spec.model_type ${g.int} is unknown`);
            m.modelType = t;
          } else if (g.field === TRAINER.byteFallback && g.wire === WIRE_VARINT) m.byteFallback = g.int !== 0;
          else if (g.field === TRAINER.treatWhitespaceAsSuffix && g.wire === WIRE_VARINT) m.treatWhitespaceAsSuffix = g.int !== 0;
          else if (g.field === TRAINER.unkSurface && g.wire === WIRE_LEN) m.unkSurface = fieldString(g);
          else if (g.field === TRAINER.bosPiece && g.wire === WIRE_LEN) m.bosPiece = fieldString(g);
          else if (g.field === TRAINER.eosPiece && g.wire === WIRE_LEN) m.eosPiece = fieldString(g);
        }
      } else if (f.field === MODEL.normalizerSpec && f.wire === WIRE_LEN) {
        for (const g of readFields(f.bytes)) {
          if (g.field === NORMALIZER.name && g.wire === WIRE_LEN) m.normalizer.name = fieldString(g);
          else if (g.field === NORMALIZER.charsmap && g.wire === WIRE_LEN) m.normalizer.charsmapBytes = g.bytes.length;
          else if (g.field === NORMALIZER.addDummyPrefix && g.wire === WIRE_VARINT) m.normalizer.addDummyPrefix = g.int !== 0;
          else if (g.field === NORMALIZER.removeExtraWhitespaces && g.wire === WIRE_VARINT) m.normalizer.removeExtraWhitespaces = g.int !== 0;
          else if (g.field === NORMALIZER.escapeWhitespaces && g.wire === WIRE_VARINT) m.normalizer.escapeWhitespaces = g.int !== 0;
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
