// The typed error of a run as a whole (a run folder in the way, a student that does not fit its
// recipe, a loss that diverged): each message says what to change. It holds no logic.

export class RunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunError';
  }
}
