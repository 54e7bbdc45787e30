// Typed errors for everything in src/data/: tokenizer loading and encoding, corpus reading, token
// shards. Each names the file (and line, where there is one) and says what was expected.
// No recovery logic lives here.

/** A tokenizer file is missing, truncated, not a tokenizer, or uses an unsupported feature. */
export class TokenizerError extends Error {
  /** The tokenizer file the problem is in ('' when not tied to a file). */
  readonly file: string;
  constructor(file: string, message: string) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'TokenizerError';
    this.file = file;
  }
}

/** A corpus or shard file is missing, empty, malformed, or does not match its tokenizer. */
export class DataError extends Error {
  /** The data file the problem is in. */
  readonly file: string;
  /** 1-based line number, when the problem is on one line (JSONL). */
  readonly line: number | undefined;
  constructor(file: string, message: string, line?: number) {
    super(line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`);
    this.name = 'DataError';
    this.file = file;
    this.line = line;
  }
}
