/**
 * Response schemas of the Invoicebox dialect: they drive the OpenAPI
 * document and serialize responses, so every status the auth check can send is declared with every
 * property it carries, in the public API's key order (fast-json-stringify writes properties in schema
 * order): `data` then `extendedData`; `message` then `code` then the optional `fields`.
 * test/openapi.test.ts checks real responses against them.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { INVOICEBOX_CODES, type InvoiceboxCode } from './codes.ts';

const FieldError = Type.Object({ name: Type.String(), code: Type.String(), message: Type.String() });

function errorEnvelope(codes: readonly InvoiceboxCode[], description: string): TSchema {
  const first = codes[0]!;
  return Type.Object(
    {
      error: Type.Object({
        message: Type.String(),
        // A plain string, not an enum: serialization must never fail on a code this list forgot.
        code: Type.String({ examples: [...codes] }),
        fields: Type.Optional(Type.Array(FieldError, { description: 'Only for validation_error: each failing field.' })),
      }),
    },
    {
      description: `${description} Codes: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
      examples: [{ error: { message: INVOICEBOX_CODES[first].en, code: first } }],
    },
  );
}

const wwwAuthenticate = { 'www-authenticate': { type: 'string', description: '`Bearer` (RFC 9110 11.6.1).' } };
const retryAfter = { 'retry-after': { type: 'integer', description: 'Seconds before trying again.' } };

const AuthAnswer = Type.Object(
  {
    data: Type.Object({
      // A list of types, not a union: the serializer tells a string from null by its type, where
      // for a union it ran the schema validator (the UUID pattern) on every answer.
      userId: Type.Unsafe<string | null>({
        type: ['string', 'null'],
        format: 'uuid',
        description: 'The account UUID of the token; null when no Authorization header was sent.',
      }),
      profile: Type.Null(),
      accessToken: Type.Null(),
    }),
    extendedData: Type.Array(Type.Unknown(), { maxItems: 0 }),
  },
  {
    description: 'The token is valid (userId is its account UUID), or no Authorization header was sent (userId null).',
    examples: [
      { data: { userId: '01771533-8e75-3234-8e3d-9213ae2d7c52', profile: null, accessToken: null }, extendedData: [] },
      { data: { userId: null, profile: null, accessToken: null }, extendedData: [] },
    ],
  },
);

const headers = Type.Object(
  {
    authorization: Type.Optional(
      Type.String({ description: '`Bearer <API token>` (v3, l3 or native format).', examples: ['Bearer b37c4c689295904ed21eee5d9a48d42e'] }),
    ),
  },
  { additionalProperties: true },
);

export function authCheckSchema(version: 'v3' | 'l3'): Record<string, unknown> {
  return {
    tags: ['invoicebox'],
    summary: `Invoicebox auth check (${version}): Authorization: Bearer <API token> -> the account's userId`,
    description: 'Both paths accept every API-token format tokend issues (v3, l3, native).',
    headers,
    response: {
      200: AuthAnswer,
      400: errorEnvelope(['token_in_query', 'bad_request', 'validation_error'], 'Malformed request, or a credential in the URL.'),
      401: { ...errorEnvelope(['unauthorized'], 'Malformed, unknown, revoked or expired token.'), headers: wwwAuthenticate },
      403: errorEnvelope(['forbidden'], 'A valid token of a disabled account.'),
      500: errorEnvelope(['internal_error'], 'A bug in tokend.'),
      503: { ...errorEnvelope(['service_unavailable'], 'The database cannot be reached.'), headers: retryAfter },
    },
  };
}
