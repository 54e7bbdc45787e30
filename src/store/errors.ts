// The one error type of the teacher store: every message names the store folder or shard file
// and says what to do (re-run `distill cache`, rebuild the store, fix the recipe).
// It holds no logic.

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}
