// `distill report RUN_DIR [RUN_DIR...]` as a library call: loads each run folder and writes one
// self-contained HTML file. It prints nothing and sets no exit code (that is cli/'s job).

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { buildReportHtml, type ReportHtmlOptions } from './report-html.js';
import { loadRun, ReportError, type RunData } from './run-files.js';

export type ReportOptions = ReportHtmlOptions;

/** Loads `runDirs` (in order; duplicates refused), writes the report to `outPath` atomically, returns the runs. */
export function writeReport(runDirs: string[], outPath: string, opts: ReportOptions = {}): RunData[] {
  if (runDirs.length === 0) throw new ReportError(outPath, 'no run folders given: pass at least one RUN_DIR');
  const seen = new Set<string>();
  for (const d of runDirs) {
    const abs = resolve(d);
    if (seen.has(abs)) throw new ReportError(abs, 'run folder given twice');
    seen.add(abs);
  }
  const runs = runDirs.map(loadRun);
  const html = buildReportHtml(runs, opts);
  mkdirSync(dirname(resolve(outPath)), { recursive: true });
  const tmp = `${outPath}.tmp-${process.pid}`;
  writeFileSync(tmp, html);
  renameSync(tmp, outPath);
  return runs;
}
