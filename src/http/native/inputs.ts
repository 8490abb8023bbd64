/**
 * Request schemas the cabinet and admin APIs share: the same record is named and described the
 * same way whoever asks. Every object refuses unknown properties (400 naming them).
 */
import { Type } from '@sinclair/typebox';
import { APP_NAME_MAX } from '../../core/accounts.ts';
import { MAX_ACTIONS, NAME_MAX } from '../../core/service-accounts.ts';
import { RECORD_ID_PATTERN } from './ids.ts';

export const Strict = { additionalProperties: false } as const;
/** A state change that takes no input: `{}`. */
export const NoBody = Type.Object({}, Strict);
export const RecordId = Type.String({ pattern: RECORD_ID_PATTERN, description: 'A numeric id.' });
/** `/…/:id` of a record with a numeric id (accounts, service accounts). */
export const RecordIdParams = Type.Object({ id: RecordId }, Strict);
/** `/…/:id` of a record with a string id (API tokens, sessions). */
export const StringIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9a-fA-F-]+$' }) }, Strict);
/** `/service-accounts/:id/keys/:keyId/…` */
export const ServiceKeyParams = Type.Object({ id: RecordId, keyId: RecordId }, Strict);

export const AppBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: APP_NAME_MAX }) }, Strict);

export const ServiceAccountName = Type.String({ minLength: 1, maxLength: NAME_MAX });
export const Actions = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  minItems: 1,
  maxItems: MAX_ACTIONS,
  description: 'Allowed actions (`dns_orders_list`, …): letters, digits and _ . : / -',
});
export const ServiceAccountBody = Type.Object({ name: ServiceAccountName, actions: Actions }, Strict);

export const ApiTokenFormat = Type.Union([Type.Literal('v3'), Type.Literal('l3'), Type.Literal('native')]);
