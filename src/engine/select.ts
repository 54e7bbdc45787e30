// Chooses the backend: DISTILL_BACKEND=ref|native, else native when the addon loads, else ref.
// Holds no global state beyond a memo of the loaded addon; callers pass the Backend along.

import type { Backend } from './backend.js';
import { createRefBackend } from './ref/index.js';
import { loadNativeAddon, loadNativeBackend, nativeLoadError } from './native/index.js';

export type BackendName = 'ref' | 'native';

/** Every backend that can run on this machine (ref always; native when the addon loads). */
export function availableBackends(): Backend[] {
  const out: Backend[] = [createRefBackend()];
  const native = loadNativeBackend();
  if (native) out.push(native);
  return out;
}

/** The compiler the native engine was built with (null when it is not loaded), for run records. */
export function nativeCompiler(): string | null {
  return loadNativeAddon()?.info().compiler ?? null;
}

let warned = false;
/** The fallback when the addon is missing: says so once per process (ref is ~100× slower). */
function refWithWarning(): Backend {
  if (!warned) {
    warned = true;
    process.stderr.write(`distill: native engine not loaded (${nativeLoadError() ?? 'unknown reason'}); running on the slow ref backend. Build it with \`npm run build:native\`, or set DISTILL_BACKEND=ref to silence this.\n`);
  }
  return createRefBackend();
}

/** The backend to use: `name`, else $DISTILL_BACKEND, else native if built, else ref. */
export function selectBackend(name?: string, threads?: number): Backend {
  const want = name ?? process.env.DISTILL_BACKEND ?? '';
  let backend: Backend;
  if (want === 'ref') backend = createRefBackend();
  else if (want === 'native') {
    const native = loadNativeBackend();
    if (!native) throw new Error(`DISTILL_BACKEND=native but the native addon did not load: ${nativeLoadError() ?? 'unknown reason'}. Run \`npm run build:native\`.`);
    backend = native;
  } else if (want === '') backend = loadNativeBackend() ?? refWithWarning();
  else throw new Error(`DISTILL_BACKEND must be 'ref' or 'native', got '${want}'`);
  const t = threads ?? (process.env.DISTILL_THREADS ? Number(process.env.DISTILL_THREADS) : undefined);
  if (t !== undefined) {
    if (!Number.isInteger(t) || t < 1) throw new Error(`DISTILL_THREADS must be a positive integer, got '${process.env.DISTILL_THREADS}'`);
    backend.setThreads(t);
  }
  return backend;
}
