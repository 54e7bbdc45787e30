// A one-line progress display for any long job (training steps, eval windows, cache positions,
// export tensors, generated rows, sweep runs): done/total, bar, rate, tokens/s, ETA and the current
// values; then, if asked, one final line. On a TTY the line is redrawn in place (carriage return +
// erase-to-end, throttled); on a pipe or CI log it prints a plain line every N seconds instead, and
// the line at 100% once. It computes nothing but rates.
// Hand-written rather than cli-progress: that package keeps its own clock, ETA buffer and redraw
// timers, while we need token rates, an injectable clock for tests, and no timers at all.

/** The parts of a stream Progress uses; process.stderr satisfies it. */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** The count at which the job ends (steps, windows, rows, ...). */
  total: number;
  /** What is counted, first word of the line. Default 'step'. */
  label?: string;
  /** Rate unit, shown as '<unit>/s'. Default 'step'. */
  unit?: string;
  /** Default process.stderr (stdout stays free for the program's output). */
  stream?: ProgressStream;
  /** Force in-place redraws on or off. Default stream.isTTY. */
  tty?: boolean;
  /** Non-TTY: print a line at most this often. Default 30 s: readable CI logs for hours-long runs. */
  plainEverySeconds?: number;
  /** TTY: redraw at most this often. Default 0.1 s: smooth without costing a training step. */
  redrawEverySeconds?: number;
  /** Rates average over this many recent updates. Default 20: steady, yet follows a slowdown. */
  rateWindow?: number;
  /** Clock in milliseconds, for tests. Default Date.now. */
  now?: () => number;
  /** When the job began (clock ms), for 'elapsed'. Default: now, at construction. */
  startedAt?: number;
}

export interface ProgressUpdate {
  /** Cumulative tokens processed so far (for tokens/s). */
  tokens?: number;
  /** Values shown at the end of the line, in order: short name -> value. */
  values?: Record<string, number>;
}

/** 3725 -> "1h02m", 258 -> "4m18s", 7 -> "7s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** 12345 -> "12.3k", 2.5e6 -> "2.50M", 3.456 -> "3.46". */
export function formatRate(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v >= 100 ? v.toFixed(0) : v.toFixed(2);
}

/** Four significant digits, exponent form for very small or large values. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return v.toPrecision(4);
}

export class Progress {
  private readonly total: number;
  private readonly label: string;
  private readonly unit: string;
  /** The line at 100% is drawn once: later updates at the end (final eval, save) only record. */
  private finalDrawn = false;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly plainEveryMs: number;
  private readonly redrawEveryMs: number;
  private readonly rateWindow: number;
  private readonly now: () => number;
  private samples: { step: number; tokens: number; t: number }[] = [];
  private lastDrawMs = -Infinity;
  private lastLine = '';
  private drewInPlace = false;
  private dirty = false;
  private readonly startMs: number;

  constructor(opts: ProgressOptions) {
    if (!(opts.total > 0)) throw new RangeError(`progress total must be > 0, got ${opts.total}`);
    this.total = opts.total;
    this.label = opts.label ?? 'step';
    this.unit = opts.unit ?? 'step';
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? this.stream.isTTY === true;
    this.plainEveryMs = (opts.plainEverySeconds ?? 30) * 1000;
    this.redrawEveryMs = (opts.redrawEverySeconds ?? 0.1) * 1000;
    this.rateWindow = Math.max(2, opts.rateWindow ?? 20);
    this.now = opts.now ?? Date.now;
    this.startMs = opts.startedAt ?? this.now(); // elapsed counts from the start of the job, not the first update
  }

  /** Records progress at `step` and redraws / prints if it is time to. */
  update(step: number, u: ProgressUpdate = {}): void {
    const t = this.now();
    this.samples.push({ step, tokens: u.tokens ?? NaN, t });
    if (this.samples.length > this.rateWindow) this.samples.shift();
    this.lastLine = this.formatLine(step, u.values ?? {});
    this.dirty = true;
    const final = step >= this.total;
    if (final && this.finalDrawn) return;
    const every = this.tty ? this.redrawEveryMs : this.plainEveryMs;
    if (final || this.samples.length === 1 || t - this.lastDrawMs >= every) {
      this.draw(t);
      this.finalDrawn = final;
    }
  }

  /** Steps per second and tokens per second over the recent window (NaN until two updates). */
  rates(): { stepsPerSec: number; tokensPerSec: number } {
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    const dt = b === undefined ? 0 : (b.t - a.t) / 1000;
    if (!(dt > 0)) return { stepsPerSec: NaN, tokensPerSec: NaN };
    return { stepsPerSec: (b.step - a.step) / dt, tokensPerSec: (b.tokens - a.tokens) / dt };
  }

  /** The line for `step` without drawing it. */
  formatLine(step: number, values: Record<string, number>): string {
    const frac = Math.min(1, Math.max(0, step / this.total));
    const { stepsPerSec, tokensPerSec } = this.rates();
    const eta = stepsPerSec > 0 ? (this.total - step) / stepsPerSec : NaN;
    const elapsed = (this.now() - this.startMs) / 1000;
    const parts = [`${this.label} ${step}/${this.total}`];
    if (this.tty) {
      const width = 20;
      const filled = Math.round(frac * width);
      parts[0] += ` [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    }
    parts[0] += ` ${(frac * 100).toFixed(1)}%`;
    parts.push(`${formatRate(stepsPerSec)} ${this.unit}/s`);
    if (Number.isFinite(tokensPerSec)) parts.push(`${formatRate(tokensPerSec)} tok/s`);
    parts.push(`elapsed ${formatDuration(elapsed)}`, `ETA ${step >= this.total ? '0s' : formatDuration(eta)}`);
    const vals = Object.entries(values).map(([k, v]) => `${k} ${formatValue(v)}`);
    if (vals.length > 0) parts.push(vals.join(' '));
    return parts.join(' | ');
  }

  private draw(t: number): void {
    this.lastDrawMs = t;
    this.dirty = false;
    if (this.tty) {
      const cols = this.stream.columns ?? 0;
      const line = cols > 1 && this.lastLine.length >= cols ? this.lastLine.slice(0, cols - 1) : this.lastLine;
      this.stream.write(`\r${line}\x1b[K`);
      this.drewInPlace = true;
    } else {
      this.stream.write(`${this.lastLine}\n`);
    }
  }

  /** Prints a message on its own line without breaking the redrawn progress line. */
  log(message: string): void {
    if (this.tty && this.drewInPlace) this.stream.write(`\r\x1b[K${message}\n${this.lastLine}`);
    else this.stream.write(`${message}\n`);
  }

  /** Draws the last state (if not yet shown) and ends the line; then prints `finalLine`, if
   *  given, on a line of its own (the job's one summary line). Safe to call twice. */
  done(finalLine?: string): void {
    if (this.lastLine !== '') {
      if (this.tty) {
        if (!this.finalDrawn) this.draw(this.now());
        this.stream.write('\n');
      } else if (this.dirty && !this.finalDrawn) {
        this.draw(this.now());
      }
      this.lastLine = '';
    }
    if (finalLine !== undefined) this.stream.write(`${finalLine}\n`);
  }
}
