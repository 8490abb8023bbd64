/**
 * Every event type webhooks carry (docs/webhooks.md). A file of its own, importing nothing: the
 * console reads the list too (through src/http/native/webhook-schemas.ts).
 */
export const WEBHOOK_EVENT_TYPES = [
  'api_token.created',
  'api_token.rotated',
  'api_token.revoked',
  'api_token.expiring',
  'key.created',
  'key.revoked',
  'session.reuse_detected',
  'quota.daily_reached',
  'credits.low',
  'secret.leaked',
] as const;
