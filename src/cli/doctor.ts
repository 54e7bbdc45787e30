// `distill doctor`: prints what distill will run on (backend, ISA, threads, versions).
// Reports only; it changes nothing.
import { readFileSync } from 'node:fs';
import { availableBackends, selectBackend } from '../engine/select.js';
import { loadNativeAddon, nativeLoadError } from '../engine/native/index.js';

export function doctorReport(pkgVersion: string): string {
  const lines: string[] = [];
  const chosen = selectBackend();
  const addon = loadNativeAddon();
  lines.push(`distill ${pkgVersion}`);
  lines.push(`backend: ${chosen.name}`);
  lines.push(`isa: ${chosen.isa}`);
  lines.push(`threads: ${chosen.threads}`);
  if (addon) {
    const i = addon.info();
    lines.push(`native: built (isa ${i.isa}, bf16 ${i.bf16}, cores ${i.cores}, ${i.compiler})`);
  } else {
    lines.push(`native: unavailable (${nativeLoadError()})`);
  }
  lines.push(`available backends: ${availableBackends().map((b) => b.name).join(', ')}`);
  lines.push(`node: ${process.versions.node} (napi ${process.versions.napi}), v8 ${process.versions.v8}`);
  lines.push(`platform: ${process.platform}-${process.arch}`);
  return lines.join('\n');
}

export function packageVersion(pkgJsonPath: URL): string {
  return (JSON.parse(readFileSync(pkgJsonPath, 'utf8')) as { version: string }).version;
}
