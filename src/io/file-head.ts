// The first bytes of a file, for telling formats apart without reading the whole file.
import { closeSync, openSync, readSync } from 'node:fs';

/** Up to `n` leading bytes of `path` (fewer when the file is shorter). */
export function firstBytes(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    return b.subarray(0, readSync(fd, b, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}
