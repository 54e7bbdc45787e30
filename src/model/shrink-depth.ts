// Depth shrink: a student made of chosen blocks of the teacher, in the order given (DistilBERT
// kept every other layer of BERT; DistilGPT2 6 of GPT-2's 12), embeddings, norms and head copied.
// It does not measure anything (shrink-importance.ts) nor touch widths (shrink-width.ts).
import { ConfigError } from './config.js';
import { type Model, createModel } from './model.js';
import { paramView } from './layout.js';

/** Every other block, starting with the first: DistilBERT's choice, the default of `layers`. */
export function everyOtherLayer(nLayers: number): number[] {
  return Array.from({ length: Math.ceil(nLayers / 2) }, (_, i) => 2 * i);
}

/** Throws a ConfigError naming `key` when a layer list is empty or names a block the teacher
 *  does not have or names one twice. */
export function checkLayerList(layers: readonly number[], nLayers: number, key: string): void {
  if (layers.length === 0) throw new ConfigError(`key '${key}': keep at least one layer`);
  const seen = new Set<number>();
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= nLayers) throw new ConfigError(`key '${key}': layer ${l} does not exist; the teacher has layers 0..${nLayers - 1}`);
    if (seen.has(l)) throw new ConfigError(`key '${key}': layer ${l} is listed twice`);
    seen.add(l);
  }
}

/** A new model of the teacher's blocks `layers` (copied, teacher untouched). */
export function keepLayers(teacher: Model, layers: readonly number[], key = 'layers'): Model {
  checkLayerList(layers, teacher.config.nLayers, key);
  const student = createModel({ ...teacher.config, nLayers: layers.length });
  for (const e of student.layout.entries) {
    const src = e.layer < 0 ? e.name : e.name.replace(/^layers\.\d+\./, `layers.${layers[e.layer]}.`);
    paramView(student.layout, student.params, e.name).set(paramView(teacher.layout, teacher.params, src));
  }
  return student;
}
