/**
 * Schemas of the hoster.by dialect, for the OpenAPI document only. This
 * dialect renders its bodies itself (pretty-printed JSON strings, see envelope.ts), and Fastify
 * sends a string as is: these response schemas never touch the bytes on the wire.
 * test/openapi.test.ts checks real responses against them, and that the bytes stay pretty.
 */
import { Type, type TObject, type TOptional, type TProperties, type TSchema, type TString } from '@sinclair/typebox';
import { HOSTER_CODES, HOSTER_SUCCESS, type HosterCode, type HosterSuccessCode } from './codes.ts';

function ok(code: HosterSuccessCode, payload: TSchema, example: Record<string, unknown>, description: string): TSchema {
  return Type.Object(
    {
      httpCode: Type.Literal(200),
      statusCode: Type.Literal('ok'),
      payload,
      messageList: Type.Object({ success: Type.Record(Type.String(), Type.String()) }),
      codeList: Type.Object({ success: Type.Array(Type.String({ examples: [code] })) }),
    },
    {
      description: `${description} Pretty-printed: clients grep the text for \`"httpCode": 200\`.`,
      examples: [
        { httpCode: 200, statusCode: 'ok', payload: example, messageList: { success: { [code]: HOSTER_SUCCESS[code].en } }, codeList: { success: [code] } },
      ],
    },
  );
}

function error(status: number, codes: readonly HosterCode[], description: string): TSchema {
  const first = codes[0]!;
  return Type.Object(
    {
      httpCode: Type.Literal(status, { description: 'Always equals the HTTP status.' }),
      statusCode: Type.Literal('error'),
      messageList: Type.Object({ error: Type.Record(Type.String(), Type.String(), { description: 'The code, mapped to its message.' }) }),
      codeList: Type.Object({ error: Type.Array(Type.String({ examples: [...codes] }), { minItems: 1 }) }),
    },
    {
      description: `${description} Codes: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
      examples: [
        { httpCode: status, statusCode: 'error', messageList: { error: { [first]: HOSTER_CODES[first].en } }, codeList: { error: [first] } },
      ],
    },
  );
}

const retryAfter = { 'retry-after': { type: 'integer', description: 'Seconds until the UTC day ends (or the store is back).' } };

const COMMON = {
  500: error(500, ['internal_error'], 'A bug in tokend.'),
  503: { ...error(503, ['service_unavailable'], 'The database cannot be reached; nothing was changed.'), headers: retryAfter },
};

const header = (description: string, example?: string): TOptional<TString> =>
  Type.Optional(Type.String({ description, ...(example ? { examples: [example] } : {}) }));

// Documentation only: every header is an optional string, so the schema never rejects a request
// (a missing header gets the dialect's own `*_missing` code from the handler).
const headersOf = <P extends TProperties>(properties: P): TObject<P> => Type.Object(properties, { additionalProperties: true });

const PAIR_EXAMPLE = {
  accessToken: 'eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ii4uLiJ9.eyJpc3MiOiJ0b2tlbmQiLCJzdWIiOiIyOTA3OCJ9.c2lnbmF0dXJl',
  refreshToken: 'tdr_9Lq2WcT7nRb4YmZx1sVkJp6hFgDe8Ao3r1Zk0X',
  userId: 29078,
  dateExpires: 1767225600,
};

const Pair = Type.Object({
  accessToken: Type.String({ description: 'A JWT (EdDSA by default, `typ: at+jwt`); send it as `Access-Token`.' }),
  refreshToken: Type.String({ description: 'Send it as `Refresh-Token` to /token/refresh.' }),
  userId: Type.Integer({ description: 'The account\'s numeric id; send it as `X-User-Id`.' }),
  dateExpires: Type.Integer({ description: 'Unix seconds: when the access token expires.' }),
});

export const createSchema = {
  tags: ['hoster'],
  headers: headersOf({
    'access-key': header('The service account\'s Access Key.', 'AKDEMOSANDBOXTOKENDKEY'),
    'secret-key': header('Its Secret Key.', 'tds_…'),
  }),
  response: {
    200: ok('create_token_success', Pair, PAIR_EXAMPLE, 'A new pair.'),
    400: error(400, ['access_key_missing', 'secret_key_missing', 'token_in_query', 'bad_request'], 'A header is missing, or a credential is in the URL.'),
    401: error(401, ['invalid_keys', 'keys_expired', 'keys_revoked'], 'The keys cannot be used.'),
    403: error(403, ['service_account_disabled', 'account_disabled'], 'Correct keys of a disabled service account or account.'),
    413: error(413, ['payload_too_large'], 'The (ignored) body is too large.'),
    429: { ...error(429, ['token_limit_exceeded'], 'The key created its daily number of tokens.'), headers: retryAfter },
    ...COMMON,
  },
};

export const refreshSchema = {
  tags: ['hoster'],
  headers: headersOf({
    'x-user-id': header('The `userId` of the pair.', '29078'),
    'refresh-token': header('The refresh token of the pair.', 'tdr_…'),
  }),
  response: {
    200: ok('refresh_token_success', Pair, PAIR_EXAMPLE, 'A new pair; the presented refresh token stops working.'),
    400: error(400, ['refresh_token_missing', 'user_id_missing', 'user_id_invalid', 'token_in_query', 'bad_request'], 'A header is missing or malformed.'),
    401: error(401, ['refresh_token_not_found', 'refresh_token_expired'], 'The refresh token cannot be used: create new tokens.'),
    403: error(403, ['account_disabled'], 'The account is disabled.'),
    413: error(413, ['payload_too_large'], 'The (ignored) body is too large.'),
    ...COMMON,
  },
};

export const infoAccessSchema = {
  tags: ['hoster'],
  headers: headersOf({
    'access-token': header('The access token (the JWT).', 'eyJ…'),
    'x-user-id': header('Optional; when sent, it must be the token\'s user.', '29078'),
  }),
  response: {
    200: ok(
      'access_token_info_success',
      Type.Object({ userId: Type.Integer(), dateExpires: Type.Integer({ description: 'Unix seconds.' }), actions: Type.Array(Type.String()) }),
      { userId: 29078, dateExpires: 1767225600, actions: ['dns_orders_list'] },
      'The access token is valid.',
    ),
    400: error(400, ['access_token_missing', 'user_id_invalid', 'token_in_query', 'bad_request'], 'A header is missing or malformed.'),
    401: error(401, ['access_token_not_found', 'access_token_expired', 'user_id_mismatch'], 'The access token cannot be used: refresh the pair.'),
    ...COMMON,
  },
};

export const infoRefreshSchema = {
  tags: ['hoster'],
  headers: headersOf({
    'x-user-id': header('The `userId` of the pair.', '29078'),
    'refresh-token': header('The refresh token.', 'tdr_…'),
  }),
  response: {
    200: ok(
      'refresh_token_info_success',
      Type.Object({ userId: Type.Integer(), dateExpires: Type.Integer({ description: 'Unix seconds: when the refresh token expires.' }) }),
      { userId: 29078, dateExpires: 1769817600 },
      'The refresh token is valid.',
    ),
    400: error(400, ['refresh_token_missing', 'user_id_missing', 'user_id_invalid', 'token_in_query', 'bad_request'], 'A header is missing or malformed.'),
    401: error(401, ['refresh_token_not_found', 'refresh_token_expired'], 'The refresh token cannot be used.'),
    ...COMMON,
  },
};
