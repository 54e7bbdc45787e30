// The public surface of src/data/: tokenizers (one interface, three formats), corpora, token
// shards and batching. Code outside src/data/ imports from here only; nothing is defined here.
export type { Tokenizer, TokenizerKind, EncodeOptions, StreamDecoder } from './tokenizer.js';
export { createStreamDecoder } from './tokenizer.js';
export { loadTokenizer, detectTokenizerFormat, type TokenizerFormat } from './load-tokenizer.js';
export { Llama2cTokenizer } from './llama2c-tokenizer.js';
export { SentencePieceTokenizer } from './sentencepiece-tokenizer.js';
export { HfTokenizer } from './hf-tokenizer.js';
export { tokenizerFromGguf, tokenizerFromGgufMeta, ggufTokenizerMetaOf } from './gguf-tokenizer.js';
export { TokenizerError, DataError } from './errors.js';
export { tokenizeCorpus, splitParagraphs, parseJsonl, type CorpusOptions, type CorpusFormat, type TokenizedCorpus } from './corpus.js';
export { loadCorpusShards, readShard, readShardHeader, writeShard, defaultShardCacheDir, shardDtypeBytes, type TokenShard, type TokenArray, type CachedCorpus, type CachedCorpusOptions } from './shards.js';
export { RandomWindowBatcher, evalWindows, evalWindowCount, splitWindows, BatchError, type EvalBatch, type TokenStream } from './batcher.js';
