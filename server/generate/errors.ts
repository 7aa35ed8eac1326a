/** The generator's failures, as the project's typed errors (server/errors.ts). */
import { SpecError, StoreError } from '../errors.js';

export const GenerateErrors = {
  /** An option out of range; `option` is its flag, e.g. `--days`. */
  badOption: (option: string, expected: string, found: unknown) =>
    new SpecError('BAD_OPTION', `${option}: expected ${expected}, found ${JSON.stringify(found)}`, option),
  writeFailed: (file: string, why: string) => new StoreError('WRITE_FAILED', `${file}: cannot write: ${why}`),
} as const;
