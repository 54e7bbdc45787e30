// Admission and turn-taking for the one model a server holds: at most `limit` requests admitted
// at once (the rest are refused with 429 at once, not queued without bound), and the admitted
// ones take turns on the model one at a time (the engine runs one sequence; its buffers are
// shared). It knows nothing of HTTP or the model.
import { ApiError } from './errors.js';

export class JobQueue {
  private admitted = 0;
  private tail: Promise<void> = Promise.resolve();

  constructor(readonly limit: number) {}

  get active(): number { return this.admitted; }

  /** Admits a request (429 when `limit` are in already); call the returned release when done. */
  admit(): () => void {
    if (this.admitted >= this.limit) {
      throw new ApiError(429, `the server is busy: ${this.admitted} requests in progress, at most ${this.limit} at once (distill serve --max-concurrent); retry later`, 'rate_limit_error');
    }
    this.admitted++;
    let done = false;
    return () => { if (!done) { done = true; this.admitted--; } };
  }

  /** Runs `fn` when the model is free; the next turn waits until it settles. */
  turn<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.then(() => undefined, () => undefined);
    return run;
  }
}
