// A student made from its teacher: depth (shrink-depth.ts), then width (shrink-importance.ts +
// shrink-width.ts), then low rank (shrink-lowrank.ts), in that order, as one call shared by
// `distill shrink` and the recipe's `student: {kind: from-teacher}`. It reads no files and
// evaluates nothing: callers pass calibration token ids and score the result.
import type { Backend } from '../engine/backend.js';
import { ConfigError } from './config.js';
import type { Model } from './model.js';
import { everyOtherLayer, keepLayers } from './shrink-depth.js';
import { type ImportanceTable, measureImportance } from './shrink-importance.js';
import { type WidthKept, type WidthTarget, pruneWidth, resolveWidth } from './shrink-width.js';
import { type LowRankTarget, factorModel, resolveRanks } from './shrink-lowrank.js';

export interface ShrinkSpec {
  /** Teacher blocks kept, in order; 'all' keeps every one. Default: every other block when
   *  neither width nor lowRank is given (DistilBERT), else all. */
  layers?: number[] | 'all';
  width?: WidthTarget;
  lowRank?: LowRankTarget;
}

/** Calibration windows for the width importance: W windows of T token ids, row-major. */
export interface Calibration { windows: Int32Array; T: number }

export interface ShrinkResult {
  model: Model;
  layers: number[];
  /** Width: the importance table measured and what was kept (null without width). */
  importance: ImportanceTable | null;
  kept: WidthKept | null;
  /** Low rank: the rank of each factored matrix and the least energy it keeps over the layers. */
  ranks: Record<string, number> | null;
  energyKept: Record<string, number> | null;
}

/** The layers a spec keeps (see ShrinkSpec.layers). */
export function shrinkLayers(spec: ShrinkSpec, nLayers: number): number[] {
  if (spec.layers === 'all') return Array.from({ length: nLayers }, (_, i) => i);
  return spec.layers ?? (spec.width || spec.lowRank ? Array.from({ length: nLayers }, (_, i) => i) : everyOtherLayer(nLayers));
}

/** Shrinks `teacher` (left untouched) by `spec`; `key` prefixes error messages' keys (e.g.
 *  'student'). Throws ConfigError naming the key on out-of-range layers and impossible targets. */
export function shrinkModel(be: Backend, teacher: Model, spec: ShrinkSpec, calib: Calibration | null, key: string): ShrinkResult {
  const layers = shrinkLayers(spec, teacher.config.nLayers);
  let model = keepLayers(teacher, layers, `${key}.layers`);
  let importance: ImportanceTable | null = null, kept: WidthKept | null = null;
  if (spec.width) {
    const shape = resolveWidth(model.config, spec.width, `${key}.width`);
    if (!calib) throw new ConfigError(`key '${key}.width': width pruning ranks channels on calibration text; none was given`);
    importance = measureImportance(be, model, calib.windows, calib.T);
    ({ model, kept } = pruneWidth(model, importance, shape));
  }
  let ranks: Record<string, number> | null = null, energyKept: Record<string, number> | null = null;
  if (spec.lowRank) {
    ({ ranks, energyKept } = resolveRanks(model, spec.lowRank, `${key}.lowRank`));
    model = factorModel(model, ranks);
  }
  return { model, layers, importance, kept, ranks, energyKept };
}
