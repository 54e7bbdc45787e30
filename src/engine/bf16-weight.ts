// The check every backend runs before reading a Bf16Weight (Backend.packBf16 / gemmBf16): the
// packed layout is private to the path that made it, so a weight from another backend or path is
// refused with one clear error rather than read as garbage.
import { type Bf16Weight, EngineError } from './backend.js';

/** Throws unless w was packed by `layout`'s packBf16 and can serve an (M,N) product. */
export function checkBf16Weight(op: string, layout: string, w: Bf16Weight, N: number): void {
  if (w.layout !== layout) {
    throw new EngineError(`${op}: this weight was packed for '${w.layout}', this backend needs '${layout}'; pack it with this backend's packBf16`);
  }
  if (!Number.isInteger(N) || N < 0 || N > w.N) throw new RangeError(`${op}: N = ${N} must be an integer in [0, ${w.N}] (the packed weight's rows)`);
}
