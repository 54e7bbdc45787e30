// Whole-or-nothing file writes: the bytes go to `<path>.tmp-<pid>` beside the target and are
// renamed over it, so a reader (or a crash) never sees half a file under the final name.
import { renameSync, rmSync, writeFileSync } from 'node:fs';

/** Writes `data` to `path` atomically; on failure the temporary file is removed and the error rethrown. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
