// What a shrink did, as the JSON `distill shrink` writes beside its checkpoint (shrink.json) and a
// from-teacher run writes into its run folder: parameters before and after, layers kept, the width
// kept (by teacher index), ranks and the energy they keep. The importance table goes to its own file.
import type { Model, ShrinkResult } from '../model/index.js';

export function shrinkRecord(r: ShrinkResult, teacher: Model | null): Record<string, unknown> {
  return {
    teacherParams: teacher?.layout.total ?? null,
    params: r.model.layout.total,
    config: r.model.config,
    layers: r.layers,
    width: r.kept,
    ranks: r.ranks,
    energyKept: r.energyKept,
  };
}
