// Catches allocations over 1 GiB in a fuzzing child before they happen: the global typed-array and
// ArrayBuffer constructors and Buffer's allocators are wrapped so that a request over the limit is
// counted and refused (thrown) instead of granted. Node's own internals keep the originals. A JS
// array grown past the heap limit is caught differently: the child runs with a capped heap and dies,
// which the parent counts as a crash. Only for the fuzzer: never imported by the library.

export const BIG_ALLOCATION_BYTES = 2 ** 30;

let big = 0;

/** Allocations over the limit refused so far in this process. */
export const bigAllocations = (): number => big;

class BigAllocationError extends Error {
  constructor(bytes: number) {
    super(`fuzz: refused an allocation of ${bytes} bytes (over ${BIG_ALLOCATION_BYTES})`);
    this.name = 'BigAllocationError';
  }
}

function check(n: unknown, bytesPer: number): void {
  if (typeof n === 'number' && n * bytesPer > BIG_ALLOCATION_BYTES) {
    big++;
    throw new BigAllocationError(n * bytesPer);
  }
}

type Ctor = new (...args: never[]) => object;

function wrap(name: string, bytesPer: number): void {
  const g = globalThis as unknown as Record<string, Ctor>;
  const Base = g[name] as new (...args: unknown[]) => object;
  const Guarded = class extends Base {
    constructor(...args: unknown[]) {
      check(args[0], bytesPer);
      super(...args);
    }
    // Arrays made by Node's internals (Buffers, file reads) stay instances of the original class.
    static override [Symbol.hasInstance](x: unknown): boolean { return x instanceof Base; }
  };
  Object.defineProperty(Guarded, 'name', { value: name });
  g[name] = Guarded as unknown as Ctor;
}

let installed = false;

export function guardAllocations(): void {
  if (installed) return;
  installed = true;
  wrap('ArrayBuffer', 1);
  for (const [name, size] of [['Int8Array', 1], ['Uint8Array', 1], ['Uint8ClampedArray', 1], ['Int16Array', 2], ['Uint16Array', 2],
    ['Int32Array', 4], ['Uint32Array', 4], ['Float32Array', 4], ['Float64Array', 8], ['BigInt64Array', 8], ['BigUint64Array', 8]] as const) {
    wrap(name, size);
  }
  const wrapFn = (key: 'alloc' | 'allocUnsafe' | 'allocUnsafeSlow'): void => {
    const orig = Buffer[key] as (size: number, ...rest: unknown[]) => Buffer;
    (Buffer as unknown as Record<string, unknown>)[key] = (size: number, ...rest: unknown[]) => { check(size, 1); return orig.call(Buffer, size, ...rest); };
  };
  wrapFn('alloc'); wrapFn('allocUnsafe'); wrapFn('allocUnsafeSlow');
}
