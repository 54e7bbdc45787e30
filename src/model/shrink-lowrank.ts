// Low-rank shrink: block matrices replaced by truncated-SVD factors W ≈ b·a (a = √Σ·Vᵀ (r, in),
// b = U·√Σ (out, r)), to a rank or to the smallest rank keeping an energy share Σσᵢ² of every
// layer's matrix; the model then stores and trains the factors (config.lowRank, layout.ts), and
// denseModel multiplies them back out for formats that hold dense matrices. It measures no loss.
import { type ModelConfig, ConfigError, LOW_RANK_MATRICES, matrixDims } from './config.js';
import { paramView } from './layout.js';
import { type Model, createModel } from './model.js';

/** Singular values (descending) and vectors of W (O,I): U (O,k), V (I,k), k = min(O,I), float64,
 *  from the Jacobi eigen-decomposition of the smaller Gram matrix. */
export function svd(w: Float32Array, O: number, I: number): { s: Float64Array; u: Float64Array; v: Float64Array; k: number } {
  const k = Math.min(O, I), tall = O >= I; // tall: Gram = WᵀW (I×I) gives V
  const at = (r: number, c: number) => (tall ? w[r * I + c] : w[c * I + r]); // W or Wᵀ as (big, k)
  const big = tall ? O : I;
  const g = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) {
    let s = 0;
    for (let r = 0; r < big; r++) s += at(r, i) * at(r, j);
    g[i * k + j] = s; g[j * k + i] = s;
  }
  const vec = new Float64Array(k * k);
  for (let i = 0; i < k; i++) vec[i * k + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += g[p * k + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) {
      const apq = g[p * k + q];
      if (Math.abs(apq) < 1e-300) continue;
      const theta = (g[q * k + q] - g[p * k + p]) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), sn = t * c;
      for (let r = 0; r < k; r++) { // rotate columns p, q of g, then rows
        const gp = g[r * k + p], gq = g[r * k + q];
        g[r * k + p] = c * gp - sn * gq; g[r * k + q] = sn * gp + c * gq;
      }
      for (let r = 0; r < k; r++) {
        const gp = g[p * k + r], gq = g[q * k + r];
        g[p * k + r] = c * gp - sn * gq; g[q * k + r] = sn * gp + c * gq;
      }
      for (let r = 0; r < k; r++) {
        const vp = vec[r * k + p], vq = vec[r * k + q];
        vec[r * k + p] = c * vp - sn * vq; vec[r * k + q] = sn * vp + c * vq;
      }
    }
  }
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => g[b * k + b] - g[a * k + a]);
  const s = Float64Array.from(order, (i) => Math.sqrt(Math.max(0, g[i * k + i])));
  // small = the eigenvectors (k side); large = W-side vectors = (W or Wᵀ)·small / σ.
  const small = new Float64Array(k * k), large = new Float64Array(big * k);
  order.forEach((src, j) => {
    for (let r = 0; r < k; r++) small[r * k + j] = vec[r * k + src];
    if (s[j] === 0) return;
    for (let r = 0; r < big; r++) {
      let acc = 0;
      for (let c = 0; c < k; c++) acc += at(r, c) * small[c * k + j];
      large[r * k + j] = acc / s[j];
    }
  });
  return tall ? { s, u: large, v: small, k } : { s, u: small, v: large, k };
}

/** The smallest rank whose singular values hold at least `energy` of Σσᵢ² (at least 1). */
export function rankForEnergy(s: Float64Array, energy: number): number {
  const total = s.reduce((a, v) => a + v * v, 0);
  let acc = 0;
  for (let r = 0; r < s.length; r++) {
    acc += s[r] * s[r];
    if (acc >= energy * total) return r + 1;
  }
  return s.length;
}

/** A rank or energy target as a recipe (student.lowRank) or `distill shrink` gives it. */
export interface LowRankTarget {
  rank?: number;
  /** Share of Σσᵢ² kept, in (0, 1): per matrix kind the smallest rank that keeps it in every layer. */
  energy?: number;
  /** Which block matrices (default: every one the family has). */
  matrices?: string[];
}

/** The per-matrix ranks a target resolves to on `model` (every layer shares a matrix's rank),
 *  with the energy each keeps at worst over the layers; throws a ConfigError naming `key`. */
export function resolveRanks(model: Model, t: LowRankTarget, key: string): { ranks: Record<string, number>; energyKept: Record<string, number> } {
  const c = model.config;
  if ((t.rank === undefined) === (t.energy === undefined)) throw new ConfigError(`key '${key}': give exactly one of rank or energy`);
  if (c.lowRank && Object.keys(c.lowRank).length) throw new ConfigError(`key '${key}': the model is already factored (${JSON.stringify(c.lowRank)})`);
  const all = LOW_RANK_MATRICES[c.family] as readonly string[];
  const matrices = t.matrices ?? [...all];
  for (const m of matrices) if (!all.includes(m)) throw new ConfigError(`key '${key}.matrices': '${m}' is not a block matrix of the ${c.family} family (${all.join(', ')})`);
  if (t.energy !== undefined && !(t.energy > 0 && t.energy < 1)) throw new ConfigError(`key '${key}.energy': must lie in (0, 1), got ${t.energy}`);
  const ranks: Record<string, number> = {}, energyKept: Record<string, number> = {};
  for (const m of matrices) {
    const [O, I] = matrixDims(c, m);
    const spectra = Array.from({ length: c.nLayers }, (_, l) => svd(paramView(model.layout, model.params, `layers.${l}.${m}`), O, I).s);
    const r = t.rank ?? Math.max(...spectra.map((s) => rankForEnergy(s, t.energy!)));
    if (!Number.isInteger(r) || r < 1) throw new ConfigError(`key '${key}.rank': must be a positive integer, got ${r}`);
    if (r >= Math.min(O, I)) {
      throw new ConfigError(t.rank !== undefined
        ? `key '${key}.rank': ${r} is not below the rank of ${m} (${O}×${I}, rank ≤ ${Math.min(O, I)}); factoring it would keep it whole`
        : `key '${key}.energy': keeping ${t.energy} of ${m}'s energy needs its full rank ${Math.min(O, I)}; lower the energy or leave ${m} out of ${key}.matrices`);
    }
    ranks[m] = r;
    energyKept[m] = Math.min(...spectra.map((s) => s.slice(0, r).reduce((a, v) => a + v * v, 0) / s.reduce((a, v) => a + v * v, 0)));
  }
  return { ranks, energyKept };
}

/** The model with the block matrices of `ranks` factored by truncated SVD (everything else copied). */
export function factorModel(model: Model, ranks: Record<string, number>): Model {
  const c = model.config;
  const out = createModel({ ...c, lowRank: { ...ranks } });
  for (const e of out.layout.entries) {
    const m = /^layers\.(\d+)\.(\w+)_([ab])$/.exec(e.name);
    if (!m || ranks[m[2]] === undefined) {
      paramView(out.layout, out.params, e.name).set(paramView(model.layout, model.params, e.name));
      continue;
    }
    if (m[3] === 'b') continue; // written with its a
    const base = `layers.${m[1]}.${m[2]}`, r = ranks[m[2]];
    const [O, I] = matrixDims(c, m[2]);
    const { s, u, v, k } = svd(paramView(model.layout, model.params, base), O, I);
    const a = paramView(out.layout, out.params, `${base}_a`), b = paramView(out.layout, out.params, `${base}_b`);
    for (let j = 0; j < r; j++) {
      const root = Math.sqrt(s[j]);
      for (let i = 0; i < I; i++) a[j * I + i] = root * v[i * k + j];
      for (let o = 0; o < O; o++) b[o * r + j] = root * u[o * k + j];
    }
  }
  return out;
}

/** The dense config of a (possibly factored) config. */
export function denseConfig(c: ModelConfig): ModelConfig {
  const { lowRank: _drop, ...rest } = c;
  void _drop;
  return rest;
}

/** The model with every factored matrix multiplied out (W = b·a); a dense model is returned as is. */
export function denseModel(model: Model): Model {
  const c = model.config;
  if (!c.lowRank || Object.keys(c.lowRank).length === 0) return model;
  const out = createModel(denseConfig(c));
  for (const e of out.layout.entries) {
    const m = /^layers\.\d+\.(\w+)$/.exec(e.name);
    const r = m ? c.lowRank[m[1]] : undefined;
    const dst = paramView(out.layout, out.params, e.name);
    if (!r) { dst.set(paramView(model.layout, model.params, e.name)); continue; }
    const [O, I] = matrixDims(c, m![1]);
    const a = paramView(model.layout, model.params, `${e.name}_a`), b = paramView(model.layout, model.params, `${e.name}_b`);
    for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) {
      let acc = 0;
      for (let j = 0; j < r; j++) acc += b[o * r + j] * a[j * I + i];
      dst[o * I + i] = acc;
    }
  }
  return out;
}
