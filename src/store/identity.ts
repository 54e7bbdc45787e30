// The content identity a store is checked against for its corpus: a hash of the token ids of both
// splits. Hashing only; it reads no files. (A teacher's identity is the teacher's to declare.)
import { createHash } from 'node:crypto';

/** "sha256:<hex>" of the train then val token ids as uint32 little-endian, with their lengths. */
export function corpusIdentity(train: ArrayLike<number>, val: ArrayLike<number>): string {
  const h = createHash('sha256').update(`distill-corpus\n${train.length}\n${val.length}\n`);
  for (const split of [train, val]) {
    const u = Uint32Array.from(split as ArrayLike<number>);
    h.update(new Uint8Array(u.buffer));
  }
  return 'sha256:' + h.digest('hex');
}
