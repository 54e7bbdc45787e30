// Starts `distill serve` as a child process on a free loopback port (--port 0) and resolves
// with its base URL once it prints the address; stop() sends a signal and resolves with the exit
// code. For the tests that need a real server process; it asserts nothing.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ServeChild {
  url: string;
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** Sends `signal` and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export const STORIES = '../shared/data/stories260K/stories260K.bin';
export const TOK512 = '../shared/data/stories260K/tok512.bin';

export function startServe(args: string[] = [STORIES, '--tokenizer', TOK512]): Promise<ServeChild> {
  const child = spawn(process.execPath, ['dist/src/cli/main.js', 'serve', ...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.on('data', (x: Buffer) => { out += x.toString(); });
        resolve({
          url: m[1], child, output: () => out,
          stop: (signal = 'SIGTERM') => { child.kill(signal); return exited; },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    exited.then((code) => reject(new Error(`distill serve exited with ${code} before listening:\n${out}`)));
  });
}
