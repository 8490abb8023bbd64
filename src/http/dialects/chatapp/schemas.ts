/**
 * Request and response schemas of the ChatApp dialect: they validate requests, drive
 * the OpenAPI document, and serialize responses. Every status a route can send is declared with
 * every property it carries (fast-json-stringify drops undeclared ones): the success envelope and
 * the error envelope with its optional `fields`. test/openapi.test.ts checks real responses
 * against these schemas.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { CHATAPP_CODES, type ChatappCode } from './codes.ts';

export const MakeBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254, examples: ['demo@tokend.dev'] }),
    password: Type.String({ minLength: 1, maxLength: 1024, examples: ['demo-password'] }),
    appId: Type.String({ minLength: 1, maxLength: 128, examples: ['app_demo'] }),
  },
  // Clients in the wild add fields of their own: a compatibility dialect ignores them, never rejects.
  { additionalProperties: true },
);

// Header schemas document; they never reject: every property is an optional string (a client
// sending `Lang: de` gets English, not a 400).
const lang = Type.Optional(Type.String({ description: '`ru` or `en`: language of `error.message` (`code` never changes). Default English.' }));

const makeHeaders = Type.Object({ lang }, { additionalProperties: true });

const refreshHeaders = Type.Object(
  { refresh: Type.Optional(Type.String({ description: 'The refresh token of the pair (no `Bearer`).', examples: ['tdr_…'] })), lang },
  { additionalProperties: true },
);

const checkHeaders = Type.Object(
  {
    authorization: Type.Optional(
      Type.String({ description: 'The access token, raw as ChatApp documents it; `Bearer <token>` is accepted too.', examples: ['tda_…'] }),
    ),
    lang,
  },
  { additionalProperties: true },
);

const FieldError = Type.Object({
  name: Type.String({ examples: ['email'] }),
  code: Type.String({ examples: ['required'] }),
  message: Type.String({ examples: ['is required'] }),
});

function errorEnvelope(codes: readonly ChatappCode[], description: string): TSchema {
  const first = codes[0]!;
  return Type.Object(
    {
      success: Type.Literal(false),
      error: Type.Object({
        // A plain string, not an enum: serialization must never fail on a code this list forgot.
        code: Type.String({ examples: [...codes] }),
        message: Type.String(),
        fields: Type.Optional(Type.Array(FieldError, { description: 'Only for ApiValidationError: each failing field.' })),
      }),
    },
    {
      description: `${description} Codes: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
      examples: [{ success: false, error: { code: first, message: CHATAPP_CODES[first].en } }],
    },
  );
}

const TokenPair = Type.Object({
  cabinetUserId: Type.Integer({ description: 'The account\'s numeric id.' }),
  accessToken: Type.String({ description: 'Send it as `Authorization` (valid 24 h by default).' }),
  accessTokenEndTime: Type.Integer({ description: 'Unix seconds.' }),
  refreshToken: Type.String({ description: 'Send it as `Refresh` to tokens.refresh (valid 14 days by default).' }),
  refreshTokenEndTime: Type.Integer({ description: 'Unix seconds.' }),
});

const PAIR_EXAMPLE = {
  success: true,
  data: {
    cabinetUserId: 14545,
    accessToken: 'tda_4Jx0kQm1Vt9bZrLw2pYcHsN8eDfGa3Uo1xk3Pq',
    accessTokenEndTime: 1625915202,
    refreshToken: 'tdr_9Lq2WcT7nRb4YmZx1sVkJp6hFgDe8Ao3r1Zk0X',
    refreshTokenEndTime: 1626001602,
  },
};

const TokenPairResponse = Type.Object(
  { success: Type.Literal(true), data: TokenPair },
  { description: 'A new access/refresh pair. Store both; the previous pair stops working.', examples: [PAIR_EXAMPLE] },
);

const CheckResponse = Type.Object(
  {
    success: Type.Literal(true),
    data: Type.Object({
      cabinetUserId: Type.Integer(),
      appId: Type.String(),
      accessTokenEndTime: Type.Integer({ description: 'Unix seconds.' }),
    }),
  },
  {
    description: 'The token is good.',
    examples: [{ success: true, data: { cabinetUserId: 14545, appId: 'app_demo', accessTokenEndTime: 1625915202 } }],
  },
);

const retryAfter = { 'retry-after': { type: 'integer', description: 'Seconds until the request may succeed.' } };

/** Failures any ChatApp route can send (bad framing, credentials in the URL, the store). */
const COMMON_ERRORS = {
  500: errorEnvelope(['ApiInternalError'], 'A bug in tokend.'),
  503: { ...errorEnvelope(['ApiServiceUnavailableError'], 'The database cannot be reached; nothing was changed.'), headers: retryAfter },
};

export const makeSchema = {
  tags: ['chatapp'],
  summary: 'tokens.make: email + password + appId -> access/refresh pair',
  description:
    'Get a pair once and store it; never call make before each request. Limited to 100 successful calls per UTC day ' +
    'per (email, appId). JSON or `application/x-www-form-urlencoded`.',
  consumes: ['application/json', 'application/x-www-form-urlencoded'],
  body: MakeBody,
  headers: makeHeaders,
  response: {
    200: TokenPairResponse,
    400: errorEnvelope(['ApiValidationError', 'ApiBadRequestError', 'ApiTokenInQueryError'], 'Malformed or invalid request.'),
    401: errorEnvelope(['ApiInvalidCredentialsError'], 'Unknown email or wrong password (the same answer for both).'),
    403: errorEnvelope(['ApiAccountDisabledError'], 'The account is disabled.'),
    404: errorEnvelope(['ApiAppNotFoundError'], 'No such app for this account.'),
    413: errorEnvelope(['ApiPayloadTooLargeError'], 'The body is too large.'),
    415: errorEnvelope(['ApiUnsupportedMediaTypeError'], 'Only JSON and form bodies are read.'),
    429: {
      ...errorEnvelope(['ApiTokensLimitError', 'ApiTooManyAttemptsError'], 'Daily make quota spent, or too many failed attempts.'),
      headers: retryAfter,
    },
    ...COMMON_ERRORS,
  },
};

export const refreshSchema = {
  tags: ['chatapp'],
  summary: 'tokens.refresh: Refresh header -> a new pair (both rotate)',
  description:
    'Call it when the API answers `ApiInvalidTokenError`, store the new pair, retry once. Any body is ignored. ' +
    'A rotated refresh token presented again later than the grace period revokes the whole session.',
  headers: refreshHeaders,
  response: {
    200: TokenPairResponse,
    400: errorEnvelope(['ApiTokenInQueryError', 'ApiBadRequestError'], 'A credential in the URL, or a malformed request.'),
    401: errorEnvelope(['ApiInvalidRefreshTokenError', 'ApiRefreshTokenExpiredError'], 'The refresh token cannot be used: call tokens.make.'),
    403: errorEnvelope(['ApiAccountDisabledError'], 'The account is disabled.'),
    413: errorEnvelope(['ApiPayloadTooLargeError'], 'The body is too large.'),
    ...COMMON_ERRORS,
  },
};

export const checkSchema = {
  tags: ['chatapp'],
  summary: 'tokens.check: is this access token good?',
  headers: checkHeaders,
  response: {
    200: CheckResponse,
    400: errorEnvelope(['ApiTokenInQueryError'], 'A credential in the URL.'),
    401: errorEnvelope(['ApiInvalidTokenError'], 'Missing, malformed, expired, revoked or unknown access token: refresh, then retry.'),
    ...COMMON_ERRORS,
  },
};
