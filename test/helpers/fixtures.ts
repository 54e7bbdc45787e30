// Reads fixtures written by scripts/fixture_io.py (NAME.json + NAME.bin) and compares arrays
// against them with stated tolerances. Used by every parity test; knows nothing of any op.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface FixtureCase {
  name: string;
  params: Record<string, number | string | boolean | number[]>;
  f32(name: string): Float32Array;
  i32(name: string): Int32Array;
  shape(name: string): number[];
  has(name: string): boolean;
}

interface TensorEntry { dtype: 'f32' | 'i32'; shape: number[]; offset: number }

const here = dirname(fileURLToPath(import.meta.url));
/** test/fixtures, from either test/helpers (source) or dist/test/helpers (compiled). */
export const fixturesDir = here.endsWith(join('dist', 'test', 'helpers')) ? join(here, '../../../test/fixtures') : join(here, '../fixtures');

/** Loads test/fixtures/<rel>.json/.bin; every returned array is a fresh copy (tests may mutate). */
export function loadFixture(rel: string): { generator: string; cases: FixtureCase[] } {
  const base = join(fixturesDir, rel);
  const meta = JSON.parse(readFileSync(base + '.json', 'utf8')) as { generator: string; cases: { name: string; params: FixtureCase['params']; tensors: Record<string, TensorEntry> }[] };
  const bin = readFileSync(base + '.bin');
  const cases = meta.cases.map((c): FixtureCase => {
    const get = (name: string, want: 'f32' | 'i32'): Float32Array | Int32Array => {
      const t = c.tensors[name];
      if (!t) throw new Error(`fixture ${rel} case '${c.name}' has no tensor '${name}'`);
      if (t.dtype !== want) throw new Error(`fixture ${rel} case '${c.name}' tensor '${name}' is ${t.dtype}, not ${want}`);
      const n = t.shape.reduce((a, b) => a * b, 1);
      const bytes = bin.subarray(t.offset, t.offset + 4 * n);
      const copy = new Uint8Array(bytes).buffer; // aligned copy
      return want === 'f32' ? new Float32Array(copy) : new Int32Array(copy);
    };
    return {
      name: c.name,
      params: c.params,
      f32: (n) => get(n, 'f32') as Float32Array,
      i32: (n) => get(n, 'i32') as Int32Array,
      shape: (n) => c.tensors[n]?.shape ?? [],
      has: (n) => n in c.tensors,
    };
  });
  return { generator: meta.generator, cases };
}

export interface Tolerance { atol: number; rtol: number }

/**
 * Throws (with the worst index, both values and the label) unless every |a-b| <= atol + rtol*|b|.
 * NaN in either array fails.
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, label: string): void {
  if (actual.length !== expected.length) throw new Error(`${label}: length ${actual.length} != expected ${expected.length}`);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], b = expected[i];
    const excess = Math.abs(a - b) - (tol.atol + tol.rtol * Math.abs(b));
    if (!(excess <= 0)) {
      if (Number.isNaN(excess)) { worst = i; break; }
      if (excess > worstExcess) { worstExcess = excess; worst = i; }
    }
  }
  if (worst >= 0) {
    throw new Error(`${label}: mismatch at [${worst}]: got ${actual[worst]}, expected ${expected[worst]} (atol ${tol.atol}, rtol ${tol.rtol})`);
  }
}
