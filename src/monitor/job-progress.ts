// The progress line of a command's long job (eval, cache, export, generate-data, sweep): a
// Progress that may be switched off (--no-progress) and is made at the first update, when the job
// knows its total; done() ends it and prints the job's one final line. Training uses Monitor.
import { Progress, type ProgressStream } from './progress.js';

export interface JobProgressOptions {
  /** False: no progress line (the final line is still printed). */
  enabled: boolean;
  /** What is counted, e.g. 'eval windows', 'cache positions', 'rows', 'sweep runs'. */
  label: string;
  /** Rate unit, e.g. 'window' -> 'window/s'. */
  unit: string;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Forwarded to Progress (tests). */
  tty?: boolean;
  plainEverySeconds?: number;
  now?: () => number;
}

export class JobProgress {
  private bar: Progress | null = null;
  private readonly stream: ProgressStream;
  private readonly startedAt: number;

  constructor(private readonly o: JobProgressOptions) {
    this.stream = o.stream ?? process.stderr;
    this.startedAt = (o.now ?? Date.now)();
  }

  /** `done` of `total` so far; `tokens`: cumulative tokens, for tokens/s. A total of 0 draws nothing. */
  update(done: number, total: number, tokens?: number): void {
    if (!this.o.enabled || !(total > 0)) return;
    this.bar ??= new Progress({ total, label: this.o.label, unit: this.o.unit, stream: this.stream, tty: this.o.tty, plainEverySeconds: this.o.plainEverySeconds, now: this.o.now, startedAt: this.startedAt });
    this.bar.update(done, { tokens });
  }

  /** Ends the line; prints `finalLine` (if given) on its own line, progress on or off. */
  done(finalLine?: string): void {
    if (this.bar) this.bar.done(finalLine);
    else if (finalLine !== undefined) this.stream.write(`${finalLine}\n`);
    this.bar = null;
  }
}
