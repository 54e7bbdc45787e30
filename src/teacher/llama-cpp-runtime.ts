// Loads node-llama-cpp (llama.cpp's Node binding) on demand: a dynamic import, so distill runs
// without it until a `llama-cpp` teacher is asked for, and getLlama with options that take the
// prebuilt CPU binary its platform package ships and never download or compile one. It runs no
// model; the teacher (llama-cpp-teacher.ts) and the bench do that.
import type { Llama } from 'node-llama-cpp';
import { TeacherError } from './teacher.js';

/** The module's exports, typed as the package declares them. */
export type NodeLlamaCpp = typeof import('node-llama-cpp');

export interface LlamaCppRuntime {
  lib: NodeLlamaCpp;
  llama: Llama;
}

/** The version package.json pins (`npm i -E`): the one the parity test measured. */
export const NODE_LLAMA_CPP_VERSION = '3.21.1';

/**
 * node-llama-cpp's prebuilt CPU binding, loaded once per call. build 'never': no cmake, no
 * llama.cpp source download — a missing or unloadable prebuilt binary is an error here, never a
 * build; gpu false: the CPU binary (results comparable with our CPU engine, no GPU probing).
 * Throws one TeacherError saying what failed and what to install when the package or its binary
 * cannot be loaded.
 */
export async function loadLlamaCpp(what: string): Promise<LlamaCppRuntime> {
  let lib: NodeLlamaCpp;
  try {
    lib = await import('node-llama-cpp');
  } catch (e) {
    throw new TeacherError(`${what}: node-llama-cpp could not be imported (${(e as Error).message}); install it with \`npm i -E node-llama-cpp@${NODE_LLAMA_CPP_VERSION}\``);
  }
  try {
    const llama = await lib.getLlama({
      build: 'never', gpu: false, usePrebuiltBinaries: true, progressLogs: false, logLevel: lib.LlamaLogLevel.error,
    });
    return { lib, llama };
  } catch (e) {
    throw new TeacherError(`${what}: node-llama-cpp ${NODE_LLAMA_CPP_VERSION} has no prebuilt CPU binary that loads on ${process.platform}-${process.arch} `
      + `(${(e as Error).message.split('\n')[0]}); distill never builds llama.cpp from source — reinstall so that @node-llama-cpp/${process.platform}-${process.arch} is present`);
  }
}
