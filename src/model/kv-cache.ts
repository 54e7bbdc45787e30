// The key/value cache of one sequence (B = 1): per layer k and v (maxSeqLen, NKV, HS), carved
// from one Float32Array, plus how many positions are filled. forward() appends to it; it holds
// no logic of its own beyond sizing and reset.

import { type ModelConfig, kvDim, validateConfig } from './config.js';

export interface KvCache {
  /** Per layer, (capacity, NKV*HS): keys after rotary. */
  k: Float32Array[];
  /** Per layer, (capacity, NKV*HS). */
  v: Float32Array[];
  /** Positions filled so far (the next token's absolute position). */
  length: number;
  /** Positions the cache can hold (config.maxSeqLen unless asked for fewer). */
  capacity: number;
}

/** A cache for up to `capacity` positions (default maxSeqLen). */
export function createKvCache(config: ModelConfig, capacity = config.maxSeqLen): KvCache {
  validateConfig(config);
  const KV = kvDim(config), L = config.nLayers;
  const buf = new Float32Array(2 * L * capacity * KV);
  const k: Float32Array[] = [], v: Float32Array[] = [];
  for (let l = 0; l < L; l++) {
    k.push(buf.subarray((2 * l) * capacity * KV, (2 * l + 1) * capacity * KV));
    v.push(buf.subarray((2 * l + 1) * capacity * KV, (2 * l + 2) * capacity * KV));
  }
  return { k, v, length: 0, capacity };
}

/** Forgets every cached position (the buffers are kept). */
export function resetKvCacheInPlace(cache: KvCache): void {
  cache.length = 0;
}
