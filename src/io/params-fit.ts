// The check every checkpoint reader makes before it allocates the parameter array: the parameter
// count a config implies (by arithmetic) must be what the file can hold. A flipped header byte or
// a config naming 10⁸ layers is then one error naming the file, not minutes of allocation and a
// heap abort.
import { countParams } from '../model/layout.js';
import type { ModelConfig } from '../model/config.js';
import { FormatError } from './errors.js';

/** Room above what a file holds before the check refuses: small mismatches are left to the readers'
 *  exact, tensor-by-tensor messages; only a config far beyond the file (an allocation nothing could
 *  fill) is refused here. */
const SLACK = 1 << 24;

/** Throws a FormatError when `config`'s parameters are far more than the `available` values the file holds. */
export function checkParamsFit(path: string, config: ModelConfig, available: number, what: string): number {
  const n = countParams(config);
  if (n > 2 * available + SLACK) {
    throw new FormatError(path, `the config (dim ${config.dim}, ${config.nLayers} layers, hidden ${config.hiddenDim}, vocabulary ${config.vocabSize}) implies ${n} parameters, but ${what} holds at most ${available}; a corrupt header or a config that does not belong to these weights`);
  }
  return n;
}
