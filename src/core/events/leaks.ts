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
export interface LeakRevokers {
  apiToken(id: string, ctx: AuditContext): Promise<boolean>;
  session(id: string, ctx: AuditContext): Promise<boolean>;
  serviceKey(id: number, ctx: AuditContext): Promise<boolean>;
  resourceServer(id: string, ctx: AuditContext): Promise<boolean>;
  consoleSession(id: string): Promise<boolean>;
  operatorKey(id: string, ctx: AuditContext): Promise<boolean>;
  /** Uses up the reset link (its id is its token's hash), so it can no longer set a password. */
  passwordReset(id: string): Promise<boolean>;
}

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
    let revoked = false;
    if (action === 'revoke') {
      switch (found.kind) {
        case 'api_token':
          revoked = await revoke.apiToken(found.id, ctx);
          break;
        case 'session':
          revoked = await revoke.session(found.id, ctx);
          break;
        case 'service_key':
          revoked = await revoke.serviceKey(Number(found.id), ctx);
          break;
        case 'resource_server':
          revoked = await revoke.resourceServer(found.id, ctx);
          break;
        case 'console_session':
          revoked = await revoke.consoleSession(found.id);
          break;
        case 'operator_key':
          revoked = await revoke.operatorKey(found.id, ctx);
          break;
        case 'password_reset':
          revoked = await revoke.passwordReset(found.id);
          break;
        case 'admin_token':
          // Nothing replaces the admin token but its operator: announced, never revoked.
          break;
      }
    }
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
