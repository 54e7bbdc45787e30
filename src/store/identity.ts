// Content identities a store is checked against: the teacher (config + weights) and the corpus
// (the token ids of both splits). Hashes only; it reads no files and loads no models.
import { createHash } from 'node:crypto';
import type { ModelConfig } from '../model/config.js';

/** "sha256:<hex>" of a model's config (keys sorted) and its float32 weights. */
export function teacherIdentity(config: ModelConfig, params: Float32Array): string {
  const cfg = JSON.stringify(config, Object.keys(config).sort());
  const h = createHash('sha256').update(`distill-teacher\n${cfg}\n`);
  h.update(new Uint8Array(params.buffer, params.byteOffset, params.byteLength));
  return 'sha256:' + h.digest('hex');
}

/** "sha256:<hex>" of the train then val token ids as uint32 little-endian, with their lengths. */
export function corpusIdentity(train: ArrayLike<number>, val: ArrayLike<number>): string {
  const h = createHash('sha256').update(`distill-corpus\n${train.length}\n${val.length}\n`);
  for (const split of [train, val]) {
    const u = Uint32Array.from(split as ArrayLike<number>);
    h.update(new Uint8Array(u.buffer));
  }
  return 'sha256:' + h.digest('hex');
}
