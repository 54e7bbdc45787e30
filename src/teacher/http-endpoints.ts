// A pool of server endpoints that POSTs JSON and returns JSON: each request goes to the live
// endpoint with the fewest in flight (at most `concurrency` each; callers wait for a free slot),
// with a timeout; on a timeout, a refused or dropped connection, 429 or 5xx it retries with
// exponential backoff (or the server's Retry-After), and an endpoint that cannot be reached is
// taken out of rotation for a while, then tried again. Other 4xx answers and malformed JSON fail
// at once with the endpoint's own message. It knows no protocol (http-protocols.ts does).
import { TeacherError } from './teacher.js';

export interface PoolOptions {
  urls: readonly string[];
  /** Requests in flight per endpoint. */
  concurrency: number;
  timeoutMs: number;
  /** Retries of one request after its first try. */
  retries: number;
  /** First backoff; doubled each retry, capped at 30 s. */
  backoffMs?: number;
  /** How long an unreachable endpoint stays out of rotation. */
  reviveMs?: number;
}

interface Endpoint { url: string; active: number; deadUntil: number; lastError: string }

/** 250 ms: long enough for a restarting server, short next to a teacher forward on a long window. */
const DEFAULT_BACKOFF_MS = 250;
/** 2 s out of rotation, then one request tries it again. */
const DEFAULT_REVIVE_MS = 2000;
const MAX_BACKOFF_MS = 30_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A failure worth another try (elsewhere or later), with how long to wait first (null: backoff). */
class Retryable extends Error {
  constructor(message: string, readonly waitMs: number | null, readonly unreachable: boolean) { super(message); }
}

export class EndpointPool {
  private readonly eps: Endpoint[];
  private waiters: (() => void)[] = [];
  private next = 0;

  constructor(private readonly o: PoolOptions) {
    if (o.urls.length === 0) throw new TeacherError('teacher http: no endpoint url given (url or urls)');
    this.eps = o.urls.map((u) => ({ url: u.replace(/\/+$/, ''), active: 0, deadUntil: 0, lastError: '' }));
  }

  get urls(): string[] { return this.eps.map((e) => e.url); }

  /** POSTs `body` to `path` on some endpoint; resolves with the endpoint and its JSON answer. */
  async post(path: string, body: unknown): Promise<{ endpoint: string; json: unknown }> {
    const payload = JSON.stringify(body);
    let last = '';
    for (let attempt = 0; attempt <= this.o.retries; attempt++) {
      const ep = await this.acquire();
      try {
        return { endpoint: ep.url, json: await this.once(ep.url, path, payload) };
      } catch (e) {
        if (!(e instanceof Retryable)) throw e;
        last = `${ep.url}${path}: ${e.message}`;
        ep.lastError = e.message;
        if (e.unreachable) ep.deadUntil = Date.now() + (this.o.reviveMs ?? DEFAULT_REVIVE_MS);
        // another live endpoint takes an unreachable one's work at once; otherwise back off
        const elsewhere = e.unreachable && this.eps.some((x) => x.deadUntil <= Date.now());
        if (attempt < this.o.retries && !elsewhere) await sleep(e.waitMs ?? Math.min(MAX_BACKOFF_MS, (this.o.backoffMs ?? DEFAULT_BACKOFF_MS) * 2 ** attempt));
      } finally {
        this.release(ep);
      }
    }
    throw new TeacherError(`teacher http: a request failed ${this.o.retries + 1} times, last at ${last}; check the servers (${this.urls.join(', ')}) or raise retries / timeoutMs`);
  }

  /** GETs `path` from one endpoint: its JSON, or null when it answers 404 (no such route). */
  async get(url: string, path: string): Promise<unknown> {
    let res: Response | undefined;
    // A GET is idempotent: a dropped connection (a keep-alive socket the server closed while we
    // were idle shows up as one) is tried again, up to `retries` times, before the server is
    // called unreachable. A timeout is not.
    for (let attempt = 0; !res; attempt++) {
      try {
        res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(this.o.timeoutMs) });
      } catch (e) {
        if ((e as Error).name === 'TimeoutError' || attempt >= this.o.retries) throw new TeacherError(`teacher server ${url}: cannot reach it (${cause(e)}); is it running?`);
        await sleep(Math.min(MAX_BACKOFF_MS, (this.o.backoffMs ?? DEFAULT_BACKOFF_MS) * 2 ** attempt));
      }
    }
    if (res.status === 404) return null;
    const text = await res.text();
    if (!res.ok) throw new TeacherError(`teacher server ${url}${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    return parseJson(url + path, text);
  }

  private async once(url: string, path: string, payload: string): Promise<unknown> {
    let res: Response, text: string;
    try {
      res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload, signal: AbortSignal.timeout(this.o.timeoutMs) });
      text = await res.text();
    } catch (e) {
      const timedOut = (e as Error).name === 'TimeoutError';
      throw new Retryable(timedOut ? `no answer within ${this.o.timeoutMs} ms` : `connection failed (${cause(e)})`, null, !timedOut);
    }
    if (res.status === 429 || res.status >= 500) {
      throw new Retryable(`HTTP ${res.status}: ${text.slice(0, 200)}`, retryAfterMs(res.headers.get('retry-after')), false);
    }
    if (!res.ok) throw new TeacherError(`teacher server ${url}${path}: HTTP ${res.status}: ${errorMessage(text)}`);
    return parseJson(url + path, text);
  }

  /** The live endpoint with the fewest in flight and a free slot; waits for one. */
  private async acquire(): Promise<Endpoint> {
    for (;;) {
      const now = Date.now();
      let best: Endpoint | null = null;
      for (let i = 0; i < this.eps.length; i++) {
        const e = this.eps[(this.next + i) % this.eps.length];
        if (e.deadUntil <= now && e.active < this.o.concurrency && (!best || e.active < best.active)) best = e;
      }
      if (best) {
        best.active++;
        this.next = (this.eps.indexOf(best) + 1) % this.eps.length;
        return best;
      }
      const live = this.eps.filter((e) => e.deadUntil <= now);
      if (live.length > 0) await new Promise<void>((r) => this.waiters.push(r));
      else await sleep(Math.max(1, Math.min(...this.eps.map((e) => e.deadUntil)) - now)); // all out: wait for the first revival
    }
  }

  private release(ep: Endpoint): void {
    ep.active--;
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}

function cause(e: unknown): string {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c?.code ?? c?.message ?? (e as Error).message;
}

/** Retry-After as seconds or an HTTP date, in ms; null when absent or unreadable. */
export function retryAfterMs(h: string | null): number | null {
  if (h === null) return null;
  const s = Number(h);
  if (h.trim() !== '' && Number.isFinite(s) && s >= 0) return Math.min(MAX_BACKOFF_MS * 4, s * 1000);
  const d = Date.parse(h);
  return Number.isNaN(d) ? null : Math.max(0, d - Date.now());
}

function parseJson(where: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new TeacherError(`teacher server ${where}: its answer is not valid JSON (${text.length} bytes: ${JSON.stringify(text.slice(0, 80))}); is this an inference server?`);
  }
}

/** The message of an OpenAI-shaped error body, else the body's start. */
function errorMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    const m = typeof j.error === 'string' ? j.error : j.error?.message ?? j.message;
    if (m) return m;
  } catch { /* not JSON: show the text */ }
  return text.slice(0, 300);
}
