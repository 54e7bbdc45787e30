// `distill store info|verify <dir>`: what a teacher store holds (settings, size, bytes/token)
// and whether every shard is present and intact (checksums, headers, record contents).
// Printing and exit codes only; the checks are src/store/verify.ts.
import type { Command } from 'commander';
import { logProbErrorBound } from '../store/format.js';
import { inspectStore, type StoreReport } from '../store/verify.js';

function printReport(r: StoreReport): void {
  const s = r.settings;
  console.log(`store: ${r.dir}`);
  console.log(`teacher: ${s.teacherDescription} (${s.teacherIdentity})`);
  console.log(`tokenizer: ${s.tokenizerIdentity}, V = ${s.vocabSize}`);
  console.log(`settings: k = ${s.k}, top-p = ${s.topP}, temperature = ${s.temperature}, encoding ${s.encoding} (|Δlog-prob| <= ${logProbErrorBound(s.encoding, -10, s.lpFloor).toPrecision(3)} for a row whose smallest kept log-prob is -10), context ${s.context}`);
  console.log(`corpus: ${r.corpusIdentity}, ${r.positions} positions`);
  console.log(`shards: ${r.shardsPresent}/${r.shards} present${r.missing.length ? ` (first missing: ${r.missing[0].file})` : ''}`);
  console.log(`size: ${r.bytes} bytes, ${r.recordBytes} bytes/record, ${r.bytesPerToken.toFixed(2)} bytes/token with headers`);
}

function printIntegrity(r: StoreReport): boolean {
  for (const c of r.corrupt) console.log(`CORRUPT ${c.file}: ${c.problem}`);
  for (const m of r.missing) console.log(`MISSING ${m.file}`);
  const ok = r.corrupt.length === 0 && r.missing.length === 0;
  console.log(ok ? `integrity: OK (${r.shardsPresent} shards checksummed, ${r.recordsChecked} records checked)`
    : `integrity: FAILED (${r.corrupt.length} corrupt, ${r.missing.length} missing); delete corrupt shards and re-run \`distill cache\` with the same settings to rewrite them`);
  return ok;
}

export function registerStore(program: Command): void {
  const store = program.command('store').description('inspect and check offline teacher stores made by `distill cache`');
  store
    .command('info <dir>')
    .description('settings, size, bytes/token and an integrity check of a teacher store')
    .action((dir: string) => {
      const r = inspectStore(dir, true);
      printReport(r);
      if (!printIntegrity(r)) process.exitCode = 1;
    });
  store
    .command('verify <dir>')
    .description('check every shard: present, checksum, header, record contents; exit 1 on any problem')
    .action((dir: string) => {
      const r = inspectStore(dir, true);
      if (!printIntegrity(r)) process.exitCode = 1;
    });
}
