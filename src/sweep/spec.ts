// A sweep file (SWEEP.yaml): a base recipe, a grid and/or a list of recipe-key overrides, seeds,
// how many cells run at once. Parses, validates and expands it into cells (name + overrides);
// it runs nothing and never reads the base recipe's contents beyond checking that it loads.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { loadRecipe, readYamlFile } from '../recipe/load.js';
import { SweepError } from './errors.js';

/** One axis value: a scalar, or a mapping (see flattenValue for how it applies). */
const Value = z.union([z.number(), z.string(), z.boolean(), z.record(z.string(), z.unknown())]);

export const SweepSpec = z.strictObject({
  /** The base recipe (relative to the current directory, as a recipe's own paths are). */
  base: z.string().min(1),
  /** Sweep name: cells are run folders in <outDir>/<name>/, with the summary beside them. */
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only'),
  outDir: z.string().default('runs'), // where `distill run` puts runs too
  /** Every combination of these: recipe key path -> list of values. */
  grid: z.record(z.string(), z.array(Value).min(1)).default({}), // empty: the list alone
  /** Extra cells (or, with a grid, multiplied by it): each a map of key path -> value. */
  list: z.array(z.record(z.string(), Value)).default([]), // empty: the grid alone
  /** Each cell runs once per seed (the recipe's `seed`). */
  seeds: z.array(z.number().int().min(0)).min(1).default([1]), // one seed unless asked
  /** Cells trained at once, each in its own process with cores/parallel threads. */
  parallel: z.number().int().positive().default(1), // one at a time: all cores to each cell
  /** Short labels for axis values in cell names: key path -> label per value (same order). */
  labels: z.record(z.string(), z.array(z.string().regex(/^[A-Za-z0-9.-]+$/))).default({}), // default: derived from the value
});
export type SweepSpec = z.infer<typeof SweepSpec>;

export interface SweepCell {
  /** Run name of the cell: <sweep>-<label>-s<seed>. */
  name: string;
  /** The point in the design space, without the seed: key path -> value as written. */
  point: Record<string, unknown>;
  seed: number;
  /** `key.path=value` overrides for the base recipe (YAML flow values), name/outDir/seed included. */
  overrides: string[];
}

/** A mapping value whose base is a section and which names no `kind` merges key by key
 *  (student: {dim: 32} changes only the dim); anything else replaces the key's value. */
export function flattenValue(key: string, value: unknown, base: unknown): [string, unknown][] {
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isMap(value) && isMap(base) && !('kind' in value && value.kind !== base.kind)) {
    return Object.entries(value).flatMap(([k, v]) => flattenValue(`${key}.${k}`, v, base[k]));
  }
  return [[key, value]];
}

/** The value at a key path of a parsed tree (undefined when absent). */
function at(tree: unknown, key: string): unknown {
  let node = tree;
  for (const k of key.split('.')) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[k] : undefined;
  return node;
}

/** A short, file-name-safe label for one value: 16 -> "16", {dim: 32, nLayers: 2} -> "dim32-nLayers2". */
export function valueLabel(v: unknown): string {
  const raw = typeof v === 'object' && v !== null
    ? Object.entries(v as Record<string, unknown>).map(([k, x]) => (k === 'kind' ? valueLabel(x) : `${k}${valueLabel(x)}`)).join('-')
    : String(v);
  return raw.replace(/[^A-Za-z0-9.-]+/g, '');
}

/** Every point of the space: the grid's combinations, each combined with each list entry. */
function points(spec: SweepSpec): Record<string, unknown>[] {
  let pts: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(spec.grid)) pts = pts.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  if (spec.list.length > 0) pts = pts.flatMap((p) => spec.list.map((l) => ({ ...p, ...l })));
  return pts;
}

function pointLabel(spec: SweepSpec, p: Record<string, unknown>): string {
  return Object.entries(p).map(([k, v]) => {
    const i = spec.grid[k]?.findIndex((g) => JSON.stringify(g) === JSON.stringify(v)) ?? -1;
    const label = spec.labels[k]?.[i];
    return label ?? `${k.split('.').pop()}${valueLabel(v)}`;
  }).join('_');
}

/** Expands a sweep into its cells (points × seeds), checking each cell's recipe loads. */
export function expandSweep(spec: SweepSpec, source: string): SweepCell[] {
  const baseTree = parse(readFileSync(spec.base, 'utf8')) as unknown;
  for (const [k, labels] of Object.entries(spec.labels)) {
    if (!spec.grid[k]) throw new SweepError(`${source}: labels.${k}: no grid axis '${k}'`);
    if (labels.length !== spec.grid[k].length) throw new SweepError(`${source}: labels.${k}: ${labels.length} labels for ${spec.grid[k].length} values`);
  }
  const cells: SweepCell[] = [];
  const seen = new Set<string>();
  for (const p of points(spec)) {
    const label = pointLabel(spec, p);
    const pairs = Object.entries(p).flatMap(([k, v]) => flattenValue(k, v, at(baseTree, k)));
    for (const seed of spec.seeds) {
      const name = `${spec.name}-${label}${label ? '-' : ''}s${seed}`;
      if (seen.has(name)) throw new SweepError(`${source}: two cells are both named '${name}'; give the axes distinct labels (labels: {key: [...]})`);
      seen.add(name);
      const overrides = [...pairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`), `seed=${seed}`, `name=${name}`, `outDir=${JSON.stringify(join(spec.outDir, spec.name))}`];
      try {
        loadRecipe(spec.base, overrides);
      } catch (e) {
        throw new SweepError(`${source}: cell ${name}: ${(e as Error).message}`);
      }
      cells.push({ name, point: p, seed, overrides });
    }
  }
  return cells;
}

/** Reads and validates SWEEP.yaml; errors name the file and the key. */
export function loadSweep(path: string): SweepSpec {
  const tree = readYamlFile(path, 'sweep', (m) => new SweepError(m));
  const r = SweepSpec.safeParse(tree);
  if (!r.success) {
    const lines = r.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `unknown key '${i.keys.join("', '")}'` : `key '${i.path.map(String).join('.') || '(top level)'}': ${i.message}`));
    throw new SweepError(`${path}: invalid sweep:\n  ${lines.join('\n  ')}`);
  }
  if (!existsSync(r.data.base)) throw new SweepError(`${path}: key 'base': recipe not found: ${r.data.base} (paths are taken from the current directory${dirname(path) !== '.' ? `, not from ${dirname(path)}` : ''})`);
  return r.data;
}
