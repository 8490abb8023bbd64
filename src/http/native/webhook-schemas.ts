/**
 * Response schemas of the webhook routes (src/http/native/webhook-routes.ts), apart so that the
 * console takes its types from them: like console-schemas.ts, this file imports nothing but
 * TypeBox, that file and the list of event types.
 */
import { Type } from '@sinclair/typebox';
import { listOf, Ms, Nullable } from './console-schemas.ts';

export { WEBHOOK_EVENT_TYPES } from '../../core/events/types.ts';

const Description = Nullable(Type.String({ maxLength: 200 }));
const NextCursor = Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last page.' }));

export const WebhookEndpointView = Type.Object({
  id: Type.String(),
  accountId: Nullable(Type.Integer({ description: "The account whose events it receives; null: the operator's, every event." })),
  url: Type.String(),
  eventTypes: Type.Array(Type.String()),
  description: Description,
  secretHint: Type.String({ description: 'The signing secret\'s prefix and last 4 characters.' }),
  enabled: Type.Boolean(),
  createdAt: Ms('Creation time.'),
  updatedAt: Ms('Last change.'),
});
export const NewWebhookEndpoint = Type.Object({
  endpoint: WebhookEndpointView,
  secret: Type.String({ description: 'The signing secret (`whsec_…`): shown in this answer only.' }),
});
export const WebhookEndpointPage = listOf(WebhookEndpointView, { nextCursor: NextCursor });
export const WebhookDeliveryView = Type.Object({
  id: Type.Integer(),
  messageId: Type.String({ description: 'The `webhook-id` header: the same for every attempt.' }),
  endpointId: Type.String(),
  type: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  nextAttemptAt: Ms('When the next attempt is due (pending only).'),
  lastStatus: Nullable(Type.Integer()),
  lastLatencyMs: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  deliveredAt: Nullable(Type.Integer()),
  createdAt: Ms('When the event happened.'),
});
export const WebhookDeliveryPage = listOf(WebhookDeliveryView, { nextCursor: NextCursor });
export const WebhookAttemptView = Type.Object({
  id: Type.Integer(),
  deliveryId: Type.Integer(),
  messageId: Type.String(),
  attempt: Type.Integer({ description: '1 for the first attempt of the delivery.' }),
  at: Ms('When it was sent.'),
  statusCode: Nullable(Type.Integer({ description: "The receiver's HTTP status; null: no answer." })),
  latencyMs: Type.Integer(),
  error: Nullable(Type.String()),
});
export const WebhookAttemptPage = listOf(WebhookAttemptView, { nextCursor: NextCursor });
