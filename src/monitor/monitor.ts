// The one object the training loop reports to: scalars and text go to a TensorBoard event file,
// metrics.jsonl / samples.jsonl in the run folder (the files src/report/ reads; see its README),
// and the progress line. It decides nothing about what or when to log; the loop does.

import { closeSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TfEventsWriter, truncateTfEvents } from '../io/tfevents.js';
import { MetricsLog, truncateJsonLines } from './metrics-log.js';
import { Progress, type ProgressStream } from './progress.js';

/** Resident set size of this process in bytes (process.memoryUsage().rss). */
export function rss(): number {
  return process.memoryUsage().rss;
}

export interface MonitorOptions {
  /** Last step of the run, for the progress bar and ETA. */
  totalSteps: number;
  /** Tokens per optimizer step (batch × seq × grad-accum), for tokens/s; a logged scalar `train/tokens` (cumulative) wins over it. */
  tokensPerStep?: number;
  /** Show the progress line. Default true. */
  progress?: boolean;
  /** Where the progress line goes. Default process.stderr. */
  stream?: ProgressStream;
  /** Force TTY (in-place) or plain progress output. Default: the stream's isTTY. */
  tty?: boolean;
  /** Plain (non-TTY) progress lines at most this often. Default 30 s (see progress.ts). */
  plainEverySeconds?: number;
  /** tfevents flush policy (see TfEventsWriter). */
  flushEveryRecords?: number;
  flushEverySeconds?: number;
  /** Clock in milliseconds, for tests. Default Date.now. */
  now?: () => number;
  /** Host part of the tfevents file name. Default os.hostname(). */
  host?: string;
}

/** At most this many losses on the progress line: more would wrap on an 80-column terminal. */
const MAX_SHOWN = 4;

export class Monitor {
  readonly runDir: string;
  readonly metricsPath: string;
  readonly samplesPath: string;
  readonly tfeventsPath: string;
  private readonly events: TfEventsWriter;
  private metrics: MetricsLog;
  private readonly progress: Progress | undefined;
  private readonly now: () => number;
  private readonly tokensPerStep: number | undefined;
  private samplesFd = -1;
  private shown = new Map<string, number>();
  private closed = false;

  constructor(runDir: string, opts: MonitorOptions) {
    mkdirSync(runDir, { recursive: true });
    this.runDir = runDir;
    this.now = opts.now ?? Date.now;
    this.tokensPerStep = opts.tokensPerStep;
    this.metricsPath = join(runDir, 'metrics.jsonl');
    this.samplesPath = join(runDir, 'samples.jsonl');
    this.events = new TfEventsWriter(runDir, {
      flushEveryRecords: opts.flushEveryRecords,
      flushEverySeconds: opts.flushEverySeconds,
      host: opts.host,
      now: this.now,
    });
    this.tfeventsPath = this.events.path;
    this.metrics = new MetricsLog(this.metricsPath);
    if (opts.progress !== false) {
      this.progress = new Progress({
        total: opts.totalSteps,
        stream: opts.stream,
        tty: opts.tty,
        plainEverySeconds: opts.plainEverySeconds,
        now: this.now,
      });
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`monitor for ${this.runDir}: called after close()`);
  }

  /** Logs every value at `step` to tfevents and metrics.jsonl and updates the progress line. */
  scalars(step: number, values: Record<string, number>): void {
    this.checkOpen();
    if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`monitor step must be a non-negative integer, got ${step}`);
    const wall = this.now() / 1000;
    this.events.addScalars(step, values, wall);
    this.metrics.write(step, values, wall);
    if (!this.progress) return;
    for (const [k, v] of Object.entries(values)) if (/loss/i.test(k)) this.shown.set(k, v);
    const shownValues: Record<string, number> = {};
    const rank = (k: string): number => (k === 'train/loss' ? 0 : k === 'val/loss' ? 1 : 2);
    const keys = [...this.shown.keys()].sort((a, b) => rank(a) - rank(b)); // stable: others keep first-seen order
    for (const k of keys.slice(0, MAX_SHOWN)) shownValues[k.replace(/^train\//, '')] = this.shown.get(k)!;
    const tokens = values['train/tokens'] ?? (this.tokensPerStep !== undefined ? step * this.tokensPerStep : undefined);
    this.progress.update(step, { tokens, values: shownValues });
  }

  /** A resumed run: metrics.jsonl and samples.jsonl cut back to `step` (the checkpoint training
   *  continues from), torn last lines dropped, so the resumed logs equal an uninterrupted run's. */
  rewindTo(step: number): void {
    this.checkOpen();
    this.metrics.close();
    truncateJsonLines(this.metricsPath, step);
    this.metrics = new MetricsLog(this.metricsPath);
    if (this.samplesFd >= 0) { closeSync(this.samplesFd); this.samplesFd = -1; }
    truncateJsonLines(this.samplesPath, step);
    for (const name of readdirSync(this.runDir)) {
      const path = join(this.runDir, name);
      if (name.startsWith('events.out.tfevents.') && path !== this.tfeventsPath) truncateTfEvents(path, step);
    }
  }

  /** Writes buffered events to disk: called before a checkpoint is saved, so that a kill after it
   *  loses no event of a step the checkpoint covers. */
  flush(): void {
    this.checkOpen();
    this.events.flush();
  }

  /** Logs a text (e.g. a sample generation) to tfevents and samples.jsonl. */
  text(step: number, tag: string, text: string): void {
    this.checkOpen();
    const wall = this.now() / 1000;
    this.events.addText(step, tag, text, wall);
    if (this.samplesFd < 0) this.samplesFd = openSync(this.samplesPath, 'a');
    writeSync(this.samplesFd, JSON.stringify({ step, tag, text, wall_time: wall }) + '\n');
  }

  /** Prints a message without breaking the progress line. */
  log(message: string): void {
    if (this.progress) this.progress.log(message);
    else process.stderr.write(`${message}\n`);
  }

  /** Ends the progress line and flushes and closes every file. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.progress?.done();
    this.events.close();
    this.metrics.close();
    if (this.samplesFd >= 0) closeSync(this.samplesFd);
    this.samplesFd = -1;
  }
}
