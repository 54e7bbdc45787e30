// The HTTP face of the server (hono): routes, body-size limit, admission (429 past the
// concurrency limit, 503 while shutting down), JSON errors in OpenAI's shape, and server-sent
// events for streams. Routes: GET /v1/models, GET /distill/info (the identities an http teacher
// checks), GET /health, POST /v1/completions, POST /v1/chat/completions. It does not listen on a
// port (cli/serve.ts does) or load models.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import { chatCompletions } from './chat.js';
import { completions, type Job } from './completions.js';
import { ApiError } from './errors.js';
import type { ServerLimits } from './requests.js';
import type { ServedModel } from './served-model.js';

export interface AppLimits extends ServerLimits {
  /** Largest request body in bytes. */
  maxBodyBytes: number;
}

export interface ServerApp {
  app: Hono;
  /** Refuses new requests (503) from now on: the first step of a graceful shutdown. */
  drain(): void;
}

export function createApp(sm: ServedModel, limits: AppLimits): ServerApp {
  const app = new Hono();
  let draining = false;
  const fail = (c: Context, e: ApiError) => c.json(e.body(), e.status);

  app.onError((e, c) => {
    if (e instanceof ApiError) return fail(c, e);
    return fail(c, new ApiError(500, `internal error: ${e.message}`, 'server_error'));
  });
  app.notFound((c) => fail(c, new ApiError(404, `no route ${c.req.method} ${c.req.path}; this server has GET /v1/models, GET /distill/info, POST /v1/completions, POST /v1/chat/completions`, 'not_found_error')));

  app.get('/health', (c) => c.json({ status: draining ? 'draining' : 'ok' }));
  app.get('/distill/info', (c) => c.json(sm.info));
  app.get('/v1/models', (c) => c.json({
    object: 'list',
    data: [{ id: sm.info.id, object: 'model', created: 0, owned_by: 'distill', max_model_len: sm.info.maxSeqLen, distill: sm.info }],
  }));

  const post = (path: string, prepare: (sm: ServedModel, body: unknown, limits: ServerLimits) => Job) => {
    app.post(path, bodyLimit({
      maxSize: limits.maxBodyBytes,
      onError: (c) => fail(c, new ApiError(413, `the request body exceeds ${limits.maxBodyBytes} bytes (distill serve --max-body-bytes)`)),
    }), async (c) => {
      if (draining) throw new ApiError(503, 'the server is shutting down', 'server_error');
      let body: unknown;
      try {
        body = await c.req.json();
      } catch (e) {
        throw new ApiError(400, `the request body is not valid JSON: ${(e as Error).message}`);
      }
      const job = prepare(sm, body, limits);
      const release = sm.queue.admit();
      if (!job.stream) {
        try {
          return c.json(await job.run(null) as object);
        } finally {
          release();
        }
      }
      return streamSSE(c, async (stream) => {
        try {
          await job.run({
            write: async (chunk) => {
              if (stream.aborted) return false;
              await stream.writeSSE({ data: JSON.stringify(chunk) });
              return !stream.aborted;
            },
          });
          if (!stream.aborted) await stream.writeSSE({ data: '[DONE]' });
        } catch (e) {
          const err = e instanceof ApiError ? e : new ApiError(500, `internal error: ${(e as Error).message}`, 'server_error');
          if (!stream.aborted) await stream.writeSSE({ data: JSON.stringify(err.body()) });
        } finally {
          release();
        }
      });
    });
  };
  post('/v1/completions', completions);
  post('/v1/chat/completions', chatCompletions);
  return { app, drain: () => { draining = true; } };
}
