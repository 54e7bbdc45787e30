// `distill serve MODEL`: an OpenAI-compatible server (src/serve/) for any model distill loads,
// listening on one host and port until SIGINT/SIGTERM, then finishing the requests in progress
// (new ones get 503) and exiting 0. Prints the address it listens on (port 0: the one the system
// chose) as its first line. Loading and printing only; the server is src/serve/.
import { basename } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Command } from 'commander';
import { selectBackend } from '../engine/select.js';
import { loadModelAndTokenizer } from '../eval/load-pair.js';
import { createApp } from '../serve/app.js';
import { ServedModel } from '../serve/served-model.js';
import { teacherIdentity } from '../teacher/model-identity.js';
import { backendOption, intOption } from './generate.js';

interface ServeFlags {
  tokenizer?: string;
  port: number;
  host: string;
  name?: string;
  maxConcurrent: number;
  maxTokens?: number;
  maxLogprobs: number;
  maxPrompts: number;
  maxBodyBytes: number;
  backend?: 'ref' | 'native';
}

/** vLLM's default port, so clients configured for a local vLLM find it. */
const DEFAULT_PORT = 8000;
/** Requests admitted at once (they take turns on the model); more are refused with 429. */
const DEFAULT_MAX_CONCURRENT = 16;
/** Top ids per position at most: a KD store keeps 32 to 64 (vLLM's own default is 20). */
const DEFAULT_MAX_LOGPROBS = 128;
/** Prompts per completions request: a scoring client sends a batch of windows. */
const DEFAULT_MAX_PROMPTS = 64;
/** 8 MiB: 64 windows of 4,096 token ids as JSON fit with room to spare. */
const DEFAULT_MAX_BODY_BYTES = 8 << 20;

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description([
      'serve a model over an OpenAI-compatible HTTP API: /v1/models, /v1/completions, /v1/chat/completions',
      '(streamed or not; logprobs, and vLLM\'s prompt_logprobs for scoring token ids), so it can be',
      'the teacher of a run elsewhere (teacher: {kind: http, url: ...}). Stops on SIGINT/SIGTERM after the',
      'requests in progress.',
    ].join('\n'))
    .argument('<model>', 'checkpoint: HF folder, distill .safetensors, GGUF, or llama2.c .bin')
    .option('--tokenizer <path>', 'tokenizer (default: the one a model folder or GGUF file carries)')
    .option('--port <n>', `port (0: any free port; default ${DEFAULT_PORT})`, intOption('--port', 0), DEFAULT_PORT)
    .option('--host <addr>', 'address to listen on (loopback by default: expose it on purpose)', '127.0.0.1')
    .option('--name <id>', 'the model id clients name (default: the file or folder name)')
    .option('--max-concurrent <n>', `requests admitted at once, the rest get 429 (default ${DEFAULT_MAX_CONCURRENT})`, intOption('--max-concurrent', 1), DEFAULT_MAX_CONCURRENT)
    .option('--max-tokens <n>', 'largest max_tokens a request may ask (default: the model\'s context)', intOption('--max-tokens', 0))
    .option('--max-logprobs <n>', `most log-probs per position (logprobs, top_logprobs, prompt_logprobs; default ${DEFAULT_MAX_LOGPROBS})`, intOption('--max-logprobs', 0), DEFAULT_MAX_LOGPROBS)
    .option('--max-prompts <n>', `most prompts in one completions request (default ${DEFAULT_MAX_PROMPTS})`, intOption('--max-prompts', 1), DEFAULT_MAX_PROMPTS)
    .option('--max-body-bytes <n>', `largest request body (default ${DEFAULT_MAX_BODY_BYTES})`, intOption('--max-body-bytes', 1), DEFAULT_MAX_BODY_BYTES)
    .option('--backend <name>', 'ref | native (default: $DISTILL_BACKEND, else native when built)', backendOption)
    .action(async (modelPath: string, f: ServeFlags) => {
      const be = selectBackend(f.backend);
      const { checkpoint, model, tokenizer } = loadModelAndTokenizer(modelPath, f.tokenizer);
      const c = checkpoint.config;
      const stopIds = [...new Set([...checkpoint.eosIds, tokenizer.eosId].filter((x): x is number => x !== null))];
      const sm = new ServedModel(be, model, tokenizer, {
        id: f.name ?? basename(modelPath), description: `${checkpoint.source} ${modelPath}`, modelIdentity: teacherIdentity(c, checkpoint.params),
        tokenizerIdentity: tokenizer.identity(), tokenizerSource: tokenizer.source, vocabSize: c.vocabSize, tokenizerVocabSize: tokenizer.vocabSize,
        maxSeqLen: c.maxSeqLen,
      }, stopIds, f.maxConcurrent);
      const { app, drain } = createApp(sm, {
        maxTokens: f.maxTokens ?? c.maxSeqLen, maxLogprobs: f.maxLogprobs, maxPrompts: f.maxPrompts, maxBodyBytes: f.maxBodyBytes,
      });
      const server: ServerType = await new Promise((resolve) => {
        const s = serve({ fetch: app.fetch, port: f.port, hostname: f.host }, (addr) => {
          console.log(`distill serve: ${sm.info.id} (${checkpoint.source}, ${c.vocabSize} ids, context ${c.maxSeqLen}) on http://${f.host}:${addr.port}`);
          resolve(s);
        });
      });
      const stop = (signal: string) => {
        console.log(`distill serve: ${signal}, finishing ${sm.queue.active} request(s) in progress`);
        drain();
        server.close(() => process.exit(0));
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
}
