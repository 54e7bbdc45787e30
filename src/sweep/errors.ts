// The typed error of sweeps, fits and tuning (a bad sweep file, a cell that failed, too few
// points to fit): each message names the file or key and what to change. It holds no logic.

export class SweepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SweepError';
  }
}
