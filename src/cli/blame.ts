/**
 * Core's refusals in the CLI's terms: the option each field stands for, and the exit code of each
 * kind of refusal. Kept apart from the operators so that every command (and `--help`) can load it
 * without loading core, the store or the HTTP layer.
 */
import { InvalidInputError } from '../core/errors.ts';
import { NotFoundError, RefusedError, UsageError } from './context.ts';

/** The command-line option that carries each field core may blame. */
const FIELD_OPTION: Record<string, string> = {
  email: '--email',
  password: '--password',
  name: '--name',
  actions: '--actions',
  label: '--label',
  format: '--format',
  expiresAt: '--expires-in',
  expiresIn: '--expires-in',
  grace: '--grace',
  permissions: '--permission',
};

/** `--email must be …`; a message that is a sentence of its own keeps it (`--expires-in: an expiry is required …`). */
export function blame(field: string, message: string): string {
  const subject = FIELD_OPTION[field] ?? field;
  return /^(must|is|has|cannot|should|may)\b/.test(message) ? `${subject} ${message}` : `${subject}: ${message}`;
}

/**
 * Core's refusals as the CLI reports them: "no such …" is not found (3), "already exists" and
 * "is taken" a conflict (4), any other bad input a usage error (2) naming the option.
 */
export function translateCoreError(error: unknown): unknown {
  if (!(error instanceof InvalidInputError)) return error;
  if (/^no such /.test(error.message)) return new NotFoundError(error.message);
  if (/already exists|is taken/.test(error.message)) return new RefusedError(error.message);
  return new UsageError(blame(error.field, error.message));
}
