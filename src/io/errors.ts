// The typed error every reader and writer in src/io/ throws: it names the file and says what was
// expected, so the CLI can print it as is. It holds no recovery logic.

export class FormatError extends Error {
  /** The file (or folder) the problem is in. */
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'FormatError';
    this.file = file;
  }
}
