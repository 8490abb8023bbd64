/**
 * Reports of published secrets (GitHub's secret-scanning partner format, docs/secret-scanning.md):
 * each reported string is recognised by its shape (prefix and checksum for native tokens),
 * looked up by its SHA-256, revoked (or, with TOKEND_SECRET_SCANNING_ACTION=notify, left alone),
 * and announced: a `secret.leaked` audit entry, and so the `secret.leaked` webhook.
 */
import { audit, type AuditContext } from '../audit.ts';
import type { Clock } from '../clock.ts';
import type { Store } from '../ports.ts';
import { sha256Hex } from '../../secrets/hash.ts';
import { identifySecret } from '../../secrets/scanning.ts';
import type { TokenKind } from '../../secrets/tokens.ts';
import type { LeakedRecord, LeakLookup } from './ports.ts';

export interface LeakReport {
  token: string;
  type: string;
  url?: string;
  source?: string;
}

/** The partner format's answer for one reported token. */
export interface LeakVerdict {
  token_hash: string;
  token_type: string;
  label: 'true_positive' | 'false_positive';
}

export type LeakAction = 'revoke' | 'notify';

/** How each kind of record is revoked; true when this call revoked it. */
/**
 * How each kind of leaked record is revoked, by its id as the leak lookup gives it (a reset link is
 * used up, so it can no longer set a password). Nothing replaces the admin token but its operator:
 * it is announced, never revoked.
 */
export type LeakRevokers = Record<Exclude<LeakedRecord['kind'], 'admin_token'>, (id: string, ctx: AuditContext) => Promise<boolean>>;

const NATIVE_LOOKUP: Record<TokenKind, LeakLookup> = {
  access: 'access',
  refresh: 'refresh',
  secretKey: 'secret_key',
  apiToken: 'api_token',
  admin: 'admin_token',
  resourceServer: 'resource_server',
  consoleSession: 'console_session',
  operatorKey: 'operator_key',
  passwordReset: 'password_reset',
};

/** Where to look a candidate up, from its shape alone; null: not a tokend secret. */
export function leakLookupOf(candidate: string): LeakLookup | null {
  const shape = identifySecret(candidate);
  if (!shape) return null;
  if (shape.format === 'native') return NATIVE_LOOKUP[shape.kind];
  if (shape.format === 'jwt') return 'access';
  return 'api_token';
}

export class LeakReports {
  readonly #d: { store: Store; clock: Clock; action: LeakAction; revoke: LeakRevokers };

  constructor(deps: { store: Store; clock: Clock; action: LeakAction; revoke: LeakRevokers }) {
    this.#d = deps;
  }

  async report(items: readonly LeakReport[], ctx: AuditContext): Promise<LeakVerdict[]> {
    const out: LeakVerdict[] = [];
    for (const item of items) {
      const token = item.token.trim();
      const hash = sha256Hex(token);
      const lookup = leakLookupOf(token);
      const found = lookup ? await this.#d.store.leaks.find(hash, lookup) : null;
      out.push({ token_hash: hash, token_type: item.type, label: found ? 'true_positive' : 'false_positive' });
      if (found) await this.#handle(found, item, ctx);
    }
    return out;
  }

  async #handle(found: LeakedRecord, item: LeakReport, ctx: AuditContext): Promise<void> {
    const { store, clock, action, revoke } = this.#d;
    const revoked = action === 'revoke' && found.kind !== 'admin_token' && (await revoke[found.kind](found.id, ctx));
    await store.transaction((tx) =>
      audit(tx.audit, clock, ctx, {
        type: 'secret.leaked',
        accountId: found.accountId,
        detail: {
          kind: found.kind,
          // A console sign-in's and a reset link's ids are the hashes of their tokens: not named.
          ...(found.kind === 'console_session' || found.kind === 'password_reset' ? {} : { id: found.id }),
          tokenType: item.type.slice(0, 100),
          ...(item.url ? { url: item.url.slice(0, 2048) } : {}),
          ...(item.source ? { source: item.source.slice(0, 100) } : {}),
          action,
          revoked,
        },
      }),
    );
  }
}
