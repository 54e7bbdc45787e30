// Headless Chromium for tests, driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
// JSON messages ending in NUL, we write fd 3, Chromium writes fd 4), so no npm package and no port.
// Opens one page, collects its console errors and uncaught exceptions, evaluates an expression.
// It asserts nothing; a test decides what the page must hold.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

/** The Chromium executable on PATH ($CHROMIUM first), or undefined. */
export function findChromium(): string | undefined {
  const names = [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter((n): n is string => !!n);
  for (const name of names) {
    const r = spawnSync('sh', ['-c', `command -v "${name}"`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}

export interface PageResult<T> {
  /** Console messages of level error, uncaught exceptions and browser log errors, as text. */
  errors: string[];
  /** The value of the evaluated expression (returnByValue). */
  value: T;
}

/** Loads `htmlPath` (a file) in headless Chromium, waits for the load event, evaluates `expression`. */
export async function inspectPage<T>(chromium: string, htmlPath: string, expression: string, timeoutMs = 60_000): Promise<PageResult<T>> {
  const profile = mkdtempSync(join(tmpdir(), 'distill-chromium-'));
  const proc = spawn(chromium, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--remote-debugging-pipe',
    `--user-data-dir=${profile}`, '--window-size=1320,2000', 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  const toBrowser = proc.stdio[3] as Writable;
  const fromBrowser = proc.stdio[4] as Readable;
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const errors: string[] = [];
  const pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  const waiters: { method: string; resolve: () => void }[] = [];
  let nextId = 1;
  let buf = '';
  let failed: Error | null = null;
  const fail = (e: Error) => {
    failed ??= e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  proc.on('exit', (code) => fail(new Error(`chromium exited (code ${code}) before the test finished: ${stderr.slice(-2000)}`)));
  proc.on('error', (e) => fail(e));
  fromBrowser.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nul: number;
    while ((nul = buf.indexOf('\0')) >= 0) {
      const msg = JSON.parse(buf.slice(0, nul)) as { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string } };
      buf = buf.slice(nul + 1);
      if (msg.id !== undefined) {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message)); else p?.resolve(msg.result ?? {});
        continue;
      }
      const prm = msg.params ?? {};
      if (msg.method === 'Runtime.consoleAPICalled' && (prm.type === 'error' || prm.type === 'assert')) {
        errors.push(`console.${String(prm.type)}: ${JSON.stringify(prm.args)}`);
      } else if (msg.method === 'Runtime.exceptionThrown') {
        errors.push(`exception: ${JSON.stringify((prm.exceptionDetails as { text?: string; exception?: { description?: string } })?.exception?.description ?? prm.exceptionDetails)}`);
      } else if (msg.method === 'Log.entryAdded') {
        const e = prm.entry as { level: string; text: string; url?: string };
        if (e.level === 'error') errors.push(`log: ${e.text}${e.url ? ` (${e.url})` : ''}`);
      }
      for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i].method === msg.method) waiters.splice(i, 1)[0].resolve();
    }
  });
  const send = (method: string, params: object = {}, sessionId?: string): Promise<Record<string, unknown>> => {
    if (failed) return Promise.reject(failed);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  };
  const timer = setTimeout(() => fail(new Error(`chromium: no answer within ${timeoutMs} ms loading ${htmlPath}`)), timeoutMs);
  try {
    const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true }) as { sessionId: string };
    await Promise.all(['Runtime.enable', 'Log.enable', 'Page.enable'].map((m) => send(m, {}, sessionId)));
    const loaded = new Promise<void>((resolve) => waiters.push({ method: 'Page.loadEventFired', resolve }));
    await send('Page.navigate', { url: pathToFileURL(htmlPath).href }, sessionId);
    await Promise.race([loaded, new Promise((_, reject) => proc.once('exit', () => reject(failed)))]);
    const r = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId) as { result: { value: T }; exceptionDetails?: { text: string } };
    if (r.exceptionDetails) throw new Error(`the test's expression threw in the page: ${r.exceptionDetails.text}`);
    return { errors, value: r.result.value };
  } finally {
    clearTimeout(timer);
    proc.removeAllListeners('exit');
    // ask it to close (no answer awaited: it may exit first), then make sure it is gone
    if (proc.exitCode === null && toBrowser.writable) toBrowser.write(JSON.stringify({ id: nextId++, method: 'Browser.close' }) + '\0');
    if (proc.exitCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { proc.kill('SIGKILL'); resolve(); }, 5000);
        proc.once('exit', () => { clearTimeout(t); resolve(); });
      });
    }
    rmSync(profile, { recursive: true, force: true });
  }
}
