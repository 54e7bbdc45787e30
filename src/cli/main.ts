#!/usr/bin/env node
// The `distill` command line: parses arguments and dispatches to one module per command.
// Only cli/ prints or sets exit codes; library errors arrive here as typed errors.
import { Command } from 'commander';
import { doctorReport, packageVersion } from './doctor.js';
import { registerGenerate } from './generate.js';
import { registerGenerateData } from './generate-data.js';
import { registerEval } from './eval.js';
import { registerInspect } from './inspect.js';
import { registerReport, registerRun } from './run.js';
import { registerCache } from './cache.js';
import { registerStore } from './store.js';
import { registerExport } from './export.js';
import { registerServe } from './serve.js';
import { registerShrink } from './shrink.js';
import { registerSweep } from './sweep.js';
import { registerTune } from './tune.js';

const version = packageVersion(new URL('../../../package.json', import.meta.url));
const program = new Command();
program
  .name('distill')
  .description('Knowledge distillation for small language models: a native engine, recipes, teachers in, students out.')
  .version(version);

program
  .command('doctor')
  .description('print the backend, instruction set, threads and versions distill will use')
  .action(() => {
    console.log(doctorReport(version));
  });

registerGenerate(program);
registerGenerateData(program);
registerEval(program);
registerInspect(program);
registerRun(program, version);
registerReport(program);
registerCache(program);
registerStore(program);
registerExport(program);
registerServe(program);
registerShrink(program);
registerSweep(program);
registerTune(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`distill: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
