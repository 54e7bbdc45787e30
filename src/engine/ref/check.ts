// Argument checks shared by the reference kernels: sizes must be non-negative integers and every
// array must hold at least the elements its shape needs (views may be longer, as on native).
// Throws RangeError naming the op, the argument and both numbers; it never fixes anything up.

/** Throws unless every named size is a non-negative integer. */
export function needSizes(op: string, sizes: Record<string, number>): void {
  for (const [name, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 0) {
      throw new RangeError(`${op}: size '${name}' must be a non-negative integer, got ${v}`);
    }
  }
}

/** Throws unless lo <= v <= hi (and v is a finite number). */
export function needRange(op: string, name: string, v: number, lo: number, hi: number): void {
  if (!Number.isFinite(v) || v < lo || v > hi) throw new RangeError(`${op}: option '${name}' must be in [${lo}, ${hi}], got ${v}`);
}

/** Throws unless `arr` holds at least `need` elements. */
export function needLen(op: string, name: string, arr: ArrayLike<number>, need: number): void {
  if (arr.length < need) {
    throw new RangeError(`${op}: argument '${name}' has ${arr.length} elements, needs ${need}`);
  }
}
