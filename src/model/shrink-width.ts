// Width shrink (Minitron-style): keeps the most important embedding channels, KV groups, query
// heads within them and FFN channels of a llama model, ranked by an ImportanceTable
// (shrink-importance.ts), to a target shape or a parameter count. Our configs tie the model width
// to the heads (dim = nHeads × head size, head size fixed by rotary), so embedding channels are
// pruned together with heads: keeping h heads keeps h × head-size channels. It measures nothing.
import { type ModelConfig, ConfigError, headSize, validateConfig } from './config.js';
import { countParams, paramView } from './layout.js';
import { type Model, createModel } from './model.js';
import { type ImportanceTable, topIndices } from './shrink-importance.js';

/** A width target as a recipe (student.width) or `distill shrink` gives it; unset = the teacher's. */
export interface WidthTarget {
  /** Query heads kept per layer; the width follows (dim = heads × head size). */
  heads?: number;
  /** Embedding channels; must be a multiple of the head size (the heads follow). */
  dim?: number;
  /** KV groups kept (default: the most the kept heads allow, at most the teacher's). */
  kvHeads?: number;
  /** FFN channels kept per layer. */
  hiddenDim?: number;
  /** A parameter budget instead: heads scaled down by a factor f, FFN channels then filled to the
   *  budget but never cut below the same factor (parts given explicitly stay as given). */
  params?: number;
}

export interface WidthShape { nHeads: number; nKvHeads: number; hiddenDim: number }

/** The largest KV group count ≤ the teacher's that splits `nHeads` into groups no larger than the
 *  teacher's, or null when there is none. */
function defaultKvHeads(c: ModelConfig, nHeads: number): number | null {
  const maxGroup = c.nHeads / c.nKvHeads;
  for (let k = Math.min(c.nKvHeads, nHeads); k >= 1; k--) if (nHeads % k === 0 && nHeads / k <= maxGroup) return k;
  return null;
}

/** Why a shape cannot be cut from config c, or null. */
function shapeProblem(c: ModelConfig, s: WidthShape, key: string): string | null {
  if (s.nHeads > c.nHeads) return `key '${key}.heads': ${s.nHeads} heads is more than the teacher's ${c.nHeads}`;
  if (s.nKvHeads > c.nKvHeads) return `key '${key}.kvHeads': ${s.nKvHeads} KV groups is more than the teacher's ${c.nKvHeads}`;
  if (s.hiddenDim > c.hiddenDim) return `key '${key}.hiddenDim': ${s.hiddenDim} FFN channels is more than the teacher's ${c.hiddenDim}`;
  if (s.nHeads % s.nKvHeads !== 0) return `key '${key}.kvHeads': ${s.nHeads} heads do not split into ${s.nKvHeads} KV groups`;
  if (s.nHeads / s.nKvHeads > c.nHeads / c.nKvHeads) return `key '${key}.kvHeads': ${s.nKvHeads} KV groups of ${s.nHeads / s.nKvHeads} heads, but the teacher's groups hold ${c.nHeads / c.nKvHeads}`;
  return null;
}

/** The config of a width-pruned c. */
export function widthConfig(c: ModelConfig, s: WidthShape): ModelConfig {
  return validateConfig({ ...c, dim: s.nHeads * headSize(c), nHeads: s.nHeads, nKvHeads: s.nKvHeads, hiddenDim: s.hiddenDim });
}

/** Resolves a target to a shape, or throws a ConfigError naming `key` (e.g. 'student.width'). */
export function resolveWidth(c: ModelConfig, t: WidthTarget, key: string): WidthShape {
  if (c.family !== 'llama') throw new ConfigError(`key '${key}': width pruning supports the llama family only, the teacher is ${c.family}`);
  const HS = headSize(c);
  if (t.dim !== undefined && t.heads !== undefined && t.dim !== t.heads * HS) throw new ConfigError(`key '${key}.dim': ${t.dim} disagrees with heads ${t.heads} × head size ${HS}; give one of them`);
  if (t.dim !== undefined && t.dim % HS !== 0) throw new ConfigError(`key '${key}.dim': ${t.dim} is not a multiple of the head size ${HS} (width is heads × head size here)`);
  if (t.dim !== undefined && t.dim > c.dim) throw new ConfigError(`key '${key}.dim': ${t.dim} channels is more than the teacher's ${c.dim}`);
  const fixedHeads = t.heads ?? (t.dim !== undefined ? t.dim / HS : undefined);
  const make = (nHeads: number, hiddenDim: number): WidthShape | string => {
    if (nHeads > c.nHeads) return `key '${key}.heads': ${nHeads} heads is more than the teacher's ${c.nHeads}`;
    const kv = t.kvHeads ?? defaultKvHeads(c, nHeads);
    if (kv === null) return `key '${key}.heads': ${nHeads} heads cannot be grouped like the teacher's (${c.nHeads} heads in ${c.nKvHeads} KV groups); set ${key}.kvHeads`;
    const s = { nHeads, nKvHeads: kv, hiddenDim };
    return shapeProblem(c, s, key) ?? s;
  };
  if (t.params === undefined) {
    const s = make(fixedHeads ?? c.nHeads, t.hiddenDim ?? c.hiddenDim);
    if (typeof s === 'string') throw new ConfigError(s);
    return s;
  }
  const full = countParams(c);
  if (t.params >= full) throw new ConfigError(`key '${key}.params': ${t.params} is not below the teacher's ${full} parameters`);
  const fits = (s: WidthShape | string): s is WidthShape => typeof s !== 'string' && countParams(widthConfig(c, s)) <= t.params!;
  // Descending factor f: heads = the largest groupable count ≤ round(NH·f) (or as given), then FFN
  // channels = the most that fit the budget (or as given), accepted once they are ≥ round(H·f):
  // the FFN is never cut harder than the heads.
  for (let i = 1000; i >= 1; i--) {
    const f = i / 1000;
    let heads = fixedHeads ?? Math.max(1, Math.round(c.nHeads * f));
    let s = make(heads, 1);
    while (fixedHeads === undefined && typeof s === 'string' && heads > 1) s = make(--heads, 1);
    if (!fits(s)) continue;
    if (t.hiddenDim !== undefined) { if (fits(make(heads, t.hiddenDim))) return make(heads, t.hiddenDim) as WidthShape; continue; }
    let lo = 1, hi = c.hiddenDim; // the largest hidden that fits
    while (lo < hi) { const mid = Math.ceil((lo + hi) / 2); if (fits(make(heads, mid))) lo = mid; else hi = mid - 1; }
    if (lo >= Math.round(c.hiddenDim * f)) return make(heads, lo) as WidthShape;
  }
  throw new ConfigError(`key '${key}.params': no width of this teacher has at most ${t.params} parameters (its embedding alone is ${c.vocabSize * HS} per head); lower the layer count or raise the target`);
}

/** What a width prune kept, by original index (saved beside the checkpoint). */
export interface WidthKept { channels: number[]; heads: number[][]; kvGroups: number[][]; ffn: number[][] }

/** Copies rows `rows` and columns `cols` of src (R0, C0) into dst (rows.length, cols.length). */
function gatherInPlace(dst: Float32Array, src: Float32Array, C0: number, rows: readonly number[], cols: readonly number[]): void {
  let o = 0;
  for (const r of rows) for (const c of cols) dst[o++] = src[r * C0 + c];
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** Row (or column) indices of whole heads of size HS. */
const headRows = (heads: readonly number[], HS: number) => heads.flatMap((h) => range(HS).map((d) => h * HS + d));

/** The width-pruned copy of `model` (llama) of shape s, ranked by imp. */
export function pruneWidth(model: Model, imp: ImportanceTable, s: WidthShape): { model: Model; kept: WidthKept } {
  const c = model.config, HS = headSize(c), group = c.nHeads / c.nKvHeads, perGroup = s.nHeads / s.nKvHeads;
  const config = widthConfig(c, s);
  const out = createModel(config);
  const channels = topIndices(imp.channels, config.dim);
  const kept: WidthKept = { channels, heads: [], kvGroups: [], ffn: [] };
  const src = (n: string) => paramView(model.layout, model.params, n);
  const dst = (n: string) => paramView(out.layout, out.params, n);
  for (const l of range(c.nLayers)) {
    const groups = topIndices(imp.kvGroups[l], s.nKvHeads);
    // Query heads: the best perGroup of each kept group, in group order (head j reads group j / perGroup).
    const heads = groups.flatMap((g) => topIndices(imp.heads[l].slice(g * group, (g + 1) * group), perGroup).map((h) => g * group + h));
    const ffn = topIndices(imp.ffn[l], s.hiddenDim);
    kept.kvGroups.push(groups); kept.heads.push(heads); kept.ffn.push(ffn);
    const q = headRows(heads, HS), kv = headRows(groups, HS), p = (n: string) => `layers.${l}.${n}`;
    gatherInPlace(dst(p('attn_norm')), src(p('attn_norm')), c.dim, [0], channels);
    gatherInPlace(dst(p('ffn_norm')), src(p('ffn_norm')), c.dim, [0], channels);
    gatherInPlace(dst(p('wq')), src(p('wq')), c.dim, q, channels);
    gatherInPlace(dst(p('wk')), src(p('wk')), c.dim, kv, channels);
    gatherInPlace(dst(p('wv')), src(p('wv')), c.dim, kv, channels);
    if (c.qkvBias) {
      gatherInPlace(dst(p('bq')), src(p('bq')), 1, q, [0]);
      gatherInPlace(dst(p('bk')), src(p('bk')), 1, kv, [0]);
      gatherInPlace(dst(p('bv')), src(p('bv')), 1, kv, [0]);
    }
    gatherInPlace(dst(p('wo')), src(p('wo')), c.nHeads * HS, channels, q);
    gatherInPlace(dst(p('w1')), src(p('w1')), c.dim, ffn, channels);
    gatherInPlace(dst(p('w3')), src(p('w3')), c.dim, ffn, channels);
    gatherInPlace(dst(p('w2')), src(p('w2')), c.hiddenDim, channels, ffn);
  }
  gatherInPlace(dst('tok_embeddings'), src('tok_embeddings'), c.dim, range(c.vocabSize), channels);
  gatherInPlace(dst('norm'), src('norm'), c.dim, [0], channels);
  if (!c.tiedEmbeddings) gatherInPlace(dst('output'), src('output'), c.dim, range(c.vocabSize), channels);
  return { model: out, kept };
}
