// The content identity of a model teacher: a hash of its config (keys sorted) and float32 weights,
// what an offline store records as its teacher and checks a recipe's `teacher.expect` against.
// Hashing only; it reads no files and loads no models.
import { createHash } from 'node:crypto';
import type { ModelConfig } from '../model/config.js';

/** "sha256:<hex>" of a model's config (keys sorted) and its float32 weights. */
export function teacherIdentity(config: ModelConfig, params: Float32Array): string {
  const cfg = JSON.stringify(config, Object.keys(config).sort());
  const h = createHash('sha256').update(`distill-teacher\n${cfg}\n`);
  h.update(new Uint8Array(params.buffer, params.byteOffset, params.byteLength));
  return 'sha256:' + h.digest('hex');
}
