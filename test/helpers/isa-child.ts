// Runs a compiled test file again in a child process with DISTILL_ISA lowered (the native kernels
// are compiled once per ISA; a process runs the CPU's best unless told otherwise) and a flag that
// tells the file it is the child. Returns the child's exit status and TAP output; asserts nothing.
import { spawnSync } from 'node:child_process';

export function runInIsaChild(file: string, isa: string, childFlag: string): { status: number | null; stdout: string; output: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, DISTILL_ISA: isa, [childFlag]: '1' };
  delete env.NODE_TEST_CONTEXT; // else the child reports to the parent's runner, not to stdout
  const r = spawnSync(process.execPath, ['--test-reporter=tap', file], { env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, output: `${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}` };
}
