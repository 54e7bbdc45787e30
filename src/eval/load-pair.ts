// Loads a model checkpoint and its tokenizer together and checks they fit each other (the
// tokenizer's ids must all be rows of the model's embedding). Used by generate/eval, from the CLI
// and from tests. It does not choose a backend or run anything.

import { loadTokenizer, type Tokenizer } from '../data/index.js';
import { carriedTokenizerPath, type LoadedCheckpoint, loadCheckpoint } from '../io/load-model.js';
import { createModel, type Model } from '../model/index.js';
import { EvalError } from './errors.js';

export interface ModelAndTokenizer {
  checkpoint: LoadedCheckpoint;
  model: Model;
  tokenizer: Tokenizer;
}

/** `tokenizerPath` undefined: the tokenizer the model carries (a GGUF file's tokenizer.ggml.*, a model folder's tokenizer.json / .model / .bin). */
export function loadModelAndTokenizer(modelPath: string, tokenizerPath?: string): ModelAndTokenizer {
  const checkpoint = loadCheckpoint(modelPath);
  if (tokenizerPath === undefined) {
    const carried = carriedTokenizerPath(checkpoint);
    if (carried === null) throw new EvalError(`${modelPath}: a ${checkpoint.source} checkpoint carries no tokenizer; pass one (--tokenizer: llama2.c .bin, SentencePiece .model, HF tokenizer.json or a .gguf)`);
    tokenizerPath = carried;
  }
  const tokenizer = loadTokenizer(tokenizerPath);
  if (tokenizer.vocabSize > checkpoint.config.vocabSize) {
    throw new EvalError(`${tokenizerPath}: the tokenizer has ${tokenizer.vocabSize} tokens but ${modelPath} has an embedding of ${checkpoint.config.vocabSize} rows; expected a tokenizer of at most ${checkpoint.config.vocabSize} tokens (the model's own)`);
  }
  return { checkpoint, model: createModel(checkpoint.config, checkpoint.params), tokenizer };
}
