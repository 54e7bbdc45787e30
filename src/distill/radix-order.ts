// Sorting of non-negative float32 values by an LSD radix sort over their bits (for non-negative
// IEEE floats the bit patterns order as the values do): ULD sorts one probability row per
// position, where a comparison sort dominated the step. No NaN or negative values are handled.

/** Scratch for rows of up to n values. */
export interface RadixScratch { keys: Uint32Array; keys2: Uint32Array; idx: Uint32Array; idx2: Uint32Array; count: Uint32Array }

export function createRadixScratch(n: number): RadixScratch {
  return { keys: new Uint32Array(n), keys2: new Uint32Array(n), idx: new Uint32Array(n), idx2: new Uint32Array(n), count: new Uint32Array(256) };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The positions of values[0..n) in ascending order of their float32 roundings (ties keep
 *  position order), in s.idx[0..n); returns s.idx. */
export function ascendingOrder(values: ArrayLike<number>, n: number, s: RadixScratch): Uint32Array {
  let keys = s.keys, keys2 = s.keys2, idx = s.idx, idx2 = s.idx2;
  for (let i = 0; i < n; i++) { f32[0] = values[i]; keys[i] = u32[0]; idx[i] = i; }
  const count = s.count;
  for (let shift = 0; shift < 32; shift += 8) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(keys[i] >>> shift) & 255]++;
    let sum = 0;
    for (let b = 0; b < 256; b++) { const c = count[b]; count[b] = sum; sum += c; }
    for (let i = 0; i < n; i++) {
      const at = count[(keys[i] >>> shift) & 255]++;
      keys2[at] = keys[i]; idx2[at] = idx[i];
    }
    [keys, keys2] = [keys2, keys]; [idx, idx2] = [idx2, idx];
  }
  return idx; // four passes: the result is back in s.idx
}
