// The typed error of the distill room and the argument checks its kernels share (sizes, array
// lengths, option ranges). It never fixes anything up: a bad argument throws with its name.

/** Thrown by a distill loss, schedule or logit processor when an argument cannot be right. */
export class DistillError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DistillError';
  }
}

/** Throws unless every named size is a non-negative integer. */
export function needSizes(op: string, sizes: Record<string, number>): void {
  for (const [name, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 0) throw new DistillError(`${op}: size '${name}' must be a non-negative integer, got ${v}`);
  }
}

/** Throws unless `arr` holds at least `need` elements. */
export function needLen(op: string, name: string, arr: ArrayLike<number>, need: number): void {
  if (arr.length < need) throw new DistillError(`${op}: argument '${name}' has ${arr.length} elements, needs ${need}`);
}

/** Throws unless lo <= v <= hi (and v is a finite number). */
export function needRange(op: string, name: string, v: number, lo: number, hi: number): void {
  if (!Number.isFinite(v) || v < lo || v > hi) throw new DistillError(`${op}: option '${name}' must be in [${lo}, ${hi}], got ${v}`);
}
