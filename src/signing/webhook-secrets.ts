/**
 * Webhook signing secrets at rest: sealed like the JWT signing keys (AES-256-GCM under a key
 * derived from the master key, src/signing/sealed.ts), bound to their endpoint's id. tokend must
 * read them back to sign each delivery, so a hash would not do.
 */
import type { SecretBox } from '../core/events/ports.ts';
import type { MasterKey } from './master-key.ts';
import { deriveKey, open, seal } from './sealed.ts';

export function webhookSecretBox(masterKey: () => MasterKey): SecretBox {
  let key: Buffer | null = null;
  const sealKey = (): Buffer => (key ??= deriveKey(masterKey().key, 'webhook-secrets'));
  return {
    seal: (plaintext, boundTo) => seal(sealKey(), plaintext, `webhook-endpoint:${boundTo}`),
    open: (sealed, boundTo) => open(sealKey(), sealed, `webhook-endpoint:${boundTo}`),
  };
}
