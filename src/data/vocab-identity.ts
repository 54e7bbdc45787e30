// Content hashes for tokenizers: the vocabulary identity (which text each id stands for, and its
// score) and the encoder identity (that plus the rules mapping text to ids). It does not read
// files; tokenizers call it with their canonical pieces.
import { createHash } from 'node:crypto';

/** One vocabulary entry in canonical form: the surface bytes (spaces as ' ', control pieces bare) and score. */
export interface CanonicalPiece {
  bytes: Uint8Array;
  score: number;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * "sha256:<hex>" over the pieces in id order: length-prefixed bytes and the score's float32 bits,
 * -0 taken as 0 (the same score; llama.cpp's GGUF converter writes 0 where SentencePiece has -0).
 */
export function vocabIdentity(tag: string, pieces: readonly CanonicalPiece[]): string {
  const h = createHash('sha256');
  h.update(`${tag}\n${pieces.length}\n`);
  const head = Buffer.alloc(8);
  for (const p of pieces) {
    f32[0] = p.score === 0 ? 0 : p.score;
    head.writeUInt32LE(p.bytes.length, 0);
    head.writeUInt32LE(u32[0], 4);
    h.update(head);
    h.update(p.bytes);
  }
  return 'sha256:' + h.digest('hex');
}

/** "sha256:<hex>" of a vocabulary identity joined with a description of the encoding rules. */
export function encoderIdentity(vocab: string, rules: string): string {
  return 'sha256:' + createHash('sha256').update(`${vocab}\n${rules}`).digest('hex');
}
