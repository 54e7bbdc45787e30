// The typed error of the eval room: arguments that cannot be scored (a window beyond the model's
// context, too few tokens, ids outside the vocabulary), each message saying what to change.

export class EvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvalError';
  }
}
