// Mutations for the fuzzer: byte-level (bit flips, interesting integers and floats written over
// header fields, truncation, chunk delete/duplicate/insert, splicing two seeds) and tree-level for
// JSON and YAML text (a random node replaced by an out-of-range number, a wrong type, an empty or
// huge array, a missing or unknown key). Deterministic from the Rng it is given; it knows no format.
import { Rng } from '../src/engine/rng.js';

/** Most header fields of the formats we read sit in the first bytes; half the edits land there. */
const HEAD = 512;

/** Integers that break size arithmetic: zero, one, signed and unsigned extremes, powers of two. */
const INTS = [0, 1, 2, 3, 7, 8, 255, 256, 0x7fff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0x40000000, 1e6, 1e9];
const FLOATS = [NaN, Infinity, -Infinity, -0, 1e30, -1e30, 3.4e38, 1e-45];

function position(rng: Rng, n: number): number {
  if (n === 0) return 0;
  return rng.nextFloat() < 0.5 ? rng.nextInt(Math.min(n, HEAD)) : rng.nextInt(n);
}

/** One byte-level edit of `b` (a new array when the length changes). */
function mutateOnce(rng: Rng, b: Uint8Array, other: Uint8Array): Uint8Array {
  const n = b.length;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (rng.nextInt(10)) {
    case 0: case 1: { // flip one bit
      if (n > 0) b[position(rng, n)] ^= 1 << rng.nextInt(8);
      return b;
    }
    case 2: { // an interesting byte
      if (n > 0) b[position(rng, n)] = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x0a, 0x22][rng.nextInt(8)];
      return b;
    }
    case 3: case 4: { // an interesting 32- or 64-bit integer over a (4-aligned, usually) field
      if (n < 8) return b;
      const at = Math.min(n - 8, position(rng, n) & (rng.nextFloat() < 0.8 ? ~3 : ~0));
      let v = INTS[rng.nextInt(INTS.length)];
      if (rng.nextFloat() < 0.3) v = dv.getUint32(at, true) + [1, -1, 2 ** 16, 2 ** 24][rng.nextInt(4)];
      if (rng.nextFloat() < 0.5) dv.setUint32(at, v >>> 0, true);
      else dv.setBigUint64(at, BigInt.asUintN(64, BigInt(Math.trunc(v)) * (rng.nextFloat() < 0.2 ? 2n ** 32n : 1n)), true);
      return b;
    }
    case 5: { // an interesting float over a 4-aligned field
      if (n >= 4) dv.setFloat32(Math.min(n - 4, position(rng, n) & ~3), FLOATS[rng.nextInt(FLOATS.length)], true);
      return b;
    }
    case 6: // truncate
      return b.slice(0, rng.nextFloat() < 0.5 ? position(rng, n) : rng.nextInt(n + 1));
    case 7: { // delete a chunk
      const at = position(rng, n), len = 1 + rng.nextInt(Math.min(64, Math.max(1, n - at)));
      return concat(b.subarray(0, at), b.subarray(Math.min(n, at + len)));
    }
    case 8: { // duplicate a chunk, or insert random bytes
      const at = position(rng, n), len = 1 + rng.nextInt(64);
      const chunk = rng.nextFloat() < 0.5 ? b.slice(at, at + len) : Uint8Array.from({ length: len }, () => rng.nextInt(256));
      return concat(b.subarray(0, at), chunk, b.subarray(at));
    }
    default: { // splice: the head of one seed, the tail of another
      const at = position(rng, n), at2 = position(rng, other.length);
      return concat(b.subarray(0, at), other.subarray(at2));
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** 1-4 stacked byte edits of a copy of `seed`. */
export function mutateBytes(rng: Rng, seed: Uint8Array, other: Uint8Array): Uint8Array {
  let b: Uint8Array = seed.slice();
  for (let k = 1 + rng.nextInt(4); k > 0; k--) b = mutateOnce(rng, b, other);
  return b;
}

type Tree = unknown;

/** Replacement values for a tree node: every wrong type and every edge of every range. */
function oddValue(rng: Rng, old: Tree): Tree {
  const r = rng.nextInt(14);
  if (typeof old === 'number' && r < 6) return [0, -1, old + 1, old * 1000, 2 ** 31, 2 ** 53, 1e308, -1e308, 0.5, -0.5][rng.nextInt(10)];
  switch (r % 10) {
    case 0: return null;
    case 1: return '';
    case 2: return 'x'.repeat(1 + rng.nextInt(5000));
    case 3: return [];
    case 4: return {};
    case 5: return true;
    case 6: return Array.isArray(old) && old.length > 0 ? Array.from({ length: 1 + rng.nextInt(2000) }, () => old[0]) : [old, old];
    case 7: return -1;
    case 8: return 1e9;
    default: return typeof old === 'string' ? old + '\u0000\ud800é' : String(old);
  }
}

/** Walks from the root to a random node and replaces, deletes or adds beside it. Mutates `root`'s copy. */
function mutateTreeOnce(rng: Rng, root: Tree): Tree {
  if (root === null || typeof root !== 'object' || rng.nextFloat() < 0.05) return oddValue(rng, root);
  let node = root as Record<string, Tree> | Tree[];
  for (;;) {
    const keys = Object.keys(node);
    if (keys.length === 0 || rng.nextFloat() < 0.1) { // add an unknown key / element here
      if (Array.isArray(node)) node.push(oddValue(rng, null)); else node[`fuzz_${rng.nextInt(100)}`] = oddValue(rng, null);
      return root;
    }
    const key = keys[rng.nextInt(keys.length)];
    const child = (node as Record<string, Tree>)[key];
    const deeper = child !== null && typeof child === 'object' && Object.keys(child).length > 0 && rng.nextFloat() < 0.75;
    if (deeper) { node = child as Record<string, Tree>; continue; }
    if (rng.nextFloat() < 0.2) { // delete
      if (Array.isArray(node)) node.splice(Number(key), 1); else delete node[key];
    } else {
      (node as Record<string, Tree>)[key] = oddValue(rng, child);
    }
    return root;
  }
}

/** 1-3 tree edits of a deep copy of `tree`. */
export function mutateTree(rng: Rng, tree: Tree): Tree {
  let t = structuredClone(tree);
  for (let k = 1 + rng.nextInt(3); k > 0; k--) t = mutateTreeOnce(rng, t);
  return t;
}
