/**
 * Generated bad input for every route tokend registers: the request arbitraries the
 * fuzz test draws from, and a raw-socket client for what `inject()` cannot send (oversized and
 * non-UTF-8 headers, broken framing, duplicate Content-Length).
 *
 * Routes come from the app itself (an onRoute hook, see test/helpers/harness.ts), with their
 * schemas: a body schema yields near-valid bodies with one thing broken, a headers schema names
 * the headers to tamper with. Nothing here lists tokend's routes by hand.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import fc from 'fast-check';
import type { RouteOptions } from 'fastify';
import { generateKeyPair, SignJWT } from 'jose';
import { newToken, TOKEN_PREFIXES, type TokenKind } from '../../src/secrets/tokens.ts';

export interface FuzzRoute {
  method: string;
  url: string;
  schema: {
    body?: JsonSchema;
    headers?: JsonSchema;
    querystring?: JsonSchema;
    params?: JsonSchema;
  };
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  [k: string]: unknown;
}

/** Every (method, url) the app registered, with the parts of the schema the generators use. */
export function catalogue(routes: readonly RouteOptions[]): FuzzRoute[] {
  const seen = new Map<string, FuzzRoute>();
  for (const r of routes) {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    const schema = (r.schema ?? {}) as FuzzRoute['schema'];
    for (const method of methods) {
      const key = `${method} ${r.url}`;
      if (!seen.has(key)) {
        seen.set(key, {
          method: String(method),
          url: r.url,
          schema: { body: schema.body, headers: schema.headers, querystring: schema.querystring, params: schema.params },
        });
      }
    }
  }
  return [...seen.values()].sort((a, b) => `${a.url} ${a.method}`.localeCompare(`${b.url} ${b.method}`));
}

export interface Credential {
  /** What it is, for reports: `chatapp access`, `admin`, `v3 api token`, … */
  label: string;
  value: string;
  /** Issued by this tokend and live when added: using it may legitimately change state. */
  real: boolean;
}

/**
 * The credentials the generators put into headers, bodies and query strings: real ones (so that
 * routes behind authentication are reached and fuzzed past it) and look-alikes of every kind.
 */
export class TokenPool {
  readonly all: Credential[] = [];
  /** Values of real credentials: a request carrying one may change state legitimately. */
  readonly realValues = new Set<string>();

  add(label: string, value: string, real: boolean): void {
    if (!value) return;
    this.all.push({ label, value, real });
    if (real) this.realValues.add(value);
  }

  get real(): Credential[] {
    return this.all.filter((c) => c.real);
  }

  /** Look-alikes: checksum-valid unknown tokens of every kind, broken checksums, forged JWTs, … */
  static async withLookAlikes(): Promise<TokenPool> {
    const pool = new TokenPool();
    for (const kind of Object.keys(TOKEN_PREFIXES) as TokenKind[]) {
      const t = newToken(kind).token;
      pool.add(`unknown ${kind} (checksum ok)`, t, false);
      pool.add(`${kind} with a bad checksum`, t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A'), false);
    }
    pool.add('truncated native token', newToken('access').token.slice(0, 20), false);
    pool.add('unknown prefix', `tdz_${newToken('access').token.slice(4)}`, false);
    const hex = randomBytes(16).toString('hex');
    pool.add('unknown v3 token', hex, false);
    pool.add('upper-case v3 token', hex.toUpperCase(), false);
    pool.add('short v3 token', hex.slice(1), false);
    pool.add('published demo v3 token', 'b37c4c689295904ed21eee5d9a48d42e', false);
    pool.add('unknown l3 token', `1-API:${hex}`, false);
    pool.add('demo l3 token', `29078-API:b37c4c689295904ed21eee5d9a48d42e`, false);
    pool.add('l3 without an id', `-API:${hex}`, false);
    pool.add('l3 with a huge id', `99999999999999999999999-API:${hex}`, false);

    const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const claims = { iss: 'tokend', sub: '1', aud: 'tokend', scope: 'dns_orders_list', jti: hex };
    const now = Math.floor(Date.now() / 1000);
    pool.add('JWT alg none', `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ ...claims, exp: now + 3600 })}.`, false);
    pool.add('JWT garbage signature', `${b64({ alg: 'EdDSA', typ: 'at+jwt', kid: 'x' })}.${b64({ ...claims, exp: now + 3600 })}.${hex}`, false);
    pool.add('JWT two parts', `${b64({ alg: 'EdDSA' })}.${b64(claims)}`, false);
    pool.add('JWT non-JSON header', `${Buffer.from('{not json').toString('base64url')}.${b64(claims)}.AAAA`, false);
    const hs = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setExpirationTime(now + 3600)
      .sign(new TextEncoder().encode('secret'));
    pool.add('JWT HS256 with a guessable key', hs, false);
    const { privateKey } = await generateKeyPair('EdDSA');
    const foreign = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'foreign' })
      .setExpirationTime(now + 3600)
      .sign(privateKey);
    pool.add('JWT signed by a foreign key', foreign, false);
    const expired = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'foreign' })
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(privateKey);
    pool.add('expired foreign JWT', expired, false);

    for (const junk of ['', ' ', 'null', 'undefined', '[object Object]', '0', '-1', 'токен', '\u00ff\u00fe\u0000', '%00', '"', "' OR 1=1 --"]) {
      pool.add(`junk ${JSON.stringify(junk)}`, junk, false);
    }
    return pool;
  }

  /** A JWT built from a real one with its payload changed and the signature kept: forged. */
  addForgeriesOf(jwt: string, label: string): void {
    const [h, p, s] = jwt.split('.');
    if (!h || !p || s === undefined) return;
    try {
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
      const forged = Buffer.from(JSON.stringify({ ...payload, sub: '999999', scope: `${String(payload.scope ?? '')} admin` })).toString('base64url');
      this.add(`${label} with a forged payload`, `${h}.${forged}.${s}`, false);
      this.add(`${label} without its signature`, `${h}.${p}.`, false);
      const none = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(h, 'base64url').toString('utf8')), alg: 'none' })).toString('base64url');
      this.add(`${label} re-headed alg none`, `${none}.${p}.`, false);
    } catch {
      // Not a JWT after all: nothing to forge.
    }
  }
}

/** Headers that carry credentials on some surface: every route gets all of them. */
export const CREDENTIAL_HEADERS = [
  'authorization',
  'refresh',
  'access-key',
  'secret-key',
  'refresh-token',
  'access-token',
  'x-user-id',
  'cookie',
  'x-csrf-token',
];

const OTHER_HEADERS = ['lang', 'accept-language', 'origin', 'x-forwarded-for', 'accept', 'user-agent', 'x-request-id', 'content-encoding', 'transfer-encoding'];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/x-www-form-urlencoded',
  'text/plain',
  'text/plain; charset=utf-8',
  'multipart/form-data; boundary=----x',
  'application/xml',
  'application/octet-stream',
  '*/*',
  '',
  'application/json; charset="',
  'application/jsonx',
  'APPLICATION/JSON',
  'application/merge-patch+json',
];

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  payload?: string | Buffer;
  /** Carries a real credential on a method that writes: it may legitimately change state. */
  mayMutate: boolean;
  /** Which route it was derived from, for coverage figures. */
  route: string;
  /** What was done to it, for reports. */
  mutations: string[];
}

/** Printable latin1, some UTF-8 multibyte, lone surrogates, NUL: what a hostile string holds. */
const hostileChar = fc.oneof(
  fc.constantFrom('a', 'Z', '0', ' ', '-', '_', '.', '@', ':', '/', '%', '"', '\\', '{', '}', '[', ']', '\t', '+', '='),
  fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('ё', 'Ж', '😀', '\u202e', '\ufeff', '\ud800', '\udfff', '\u0000', '\u0001', '\u007f'),
);

export const hostileString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.array(hostileChar, { maxLength }).map((a) => a.join('')) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 70_000 }).map((n) => 'x'.repeat(n)) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', 'true', '0', '-1', '1e309', 'NaN', '__proto__', 'constructor', '../../etc/passwd', '%s%n', '${jndi:x}') },
  );

/** Header values must survive Node's HTTP parser on the way in: no CR, LF or NUL; latin1 at most. */
function headerSafe(value: string): string {
  return value.replace(/[\r\n\0]/g, '').replace(/[^\u0000-\u00ff]/g, '?');
}

function credentialValue(pool: TokenPool): fc.Arbitrary<{ value: string; real: boolean; label: string }> {
  const real = pool.real;
  const fake = pool.all.filter((c) => !c.real);
  const pick = (list: Credential[]): fc.Arbitrary<Credential> => fc.constantFrom(...list);
  const base = real.length
    ? fc.oneof({ weight: 2, arbitrary: pick(real) }, { weight: 3, arbitrary: pick(fake) })
    : pick(fake);
  return fc
    .tuple(base, fc.constantFrom('', '', '', 'Bearer ', 'bearer ', 'Basic ', 'Bearer  ', 'Token ', ' '), fc.constantFrom('', '', '', ' ', '\t', 'x', ','))
    .map(([c, scheme, suffix]) => ({ value: `${scheme}${c.value}${suffix}`, real: c.real && suffix === '' , label: c.label }));
}

/** Numbers at the edges of 32- and 64-bit integers and of JavaScript's safe range. */
const EDGE_NUMBERS = ['0', '1', '-1', '2147483647', '2147483648', '4294967296', '9007199254740991', '9007199254740993', '9223372036854775807', '9223372036854775808', '999999999999999', '1e3', '0x10', '00001'];

/** A value of the schema's type, near-valid: what a client in the wild sends. */
function valueFor(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return fc.jsonValue({ maxDepth: 2 });
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((s) => valueFor(s, depth + 1)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      // A numeric pattern (ids, cursors, limits): numbers, around every integer width's edge.
      if (schema.pattern && schema.pattern.includes('[0-9]')) return fc.oneof(fc.nat().map(String), fc.constantFrom(...EDGE_NUMBERS));
      // Mostly printable, sometimes hostile (NUL, lone surrogates, bytes above 0x7F, bidi controls).
      return fc.oneof(
        { weight: 3, arbitrary: fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 60) }) },
        { weight: 1, arbitrary: fc.array(hostileChar, { minLength: Math.max(1, schema.minLength ?? 0), maxLength: Math.min(schema.maxLength ?? 40, 60) }).map((a) => a.join('')) },
      );
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -5, max: schema.maximum ?? 100_000 });
    case 'number':
      return fc.double({ noNaN: true, min: schema.minimum ?? -5, max: schema.maximum ?? 1e6 });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(valueFor(schema.items, depth + 1), { maxLength: 4 });
    case 'object': {
      const props = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const entries = Object.entries(props).map(([k, s]) => [k, valueFor(s, depth + 1)] as const);
      return fc.record(Object.fromEntries(entries), { requiredKeys: [...required].filter((k) => k in props) });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Breaks a near-valid object in one way, and says how. */
function mutateObject(value: unknown, schema: JsonSchema | undefined, pool: TokenPool): fc.Arbitrary<{ value: unknown; how: string }> {
  const obj = (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}) as Record<string, unknown>;
  const keys = Object.keys(schema?.properties ?? obj);
  const wrong = fc.oneof(
    fc.integer(),
    fc.constant(null),
    fc.boolean(),
    fc.constant([]),
    fc.constant({}),
    fc.array(fc.string(), { maxLength: 3 }),
    hostileString(),
    fc.double(),
    fc.constantFrom(...pool.all.map((c) => c.value)),
  );
  const keyArb = keys.length ? fc.constantFrom(...keys) : fc.constant('x');
  return fc.oneof(
    fc.constant({ value: obj, how: 'as generated' }),
    keyArb.map((k) => {
      const { [k]: _drop, ...rest } = obj;
      return { value: rest, how: `without ${k}` };
    }),
    fc.tuple(keyArb, wrong).map(([k, w]) => ({ value: { ...obj, [k]: w }, how: `${k} of a wrong type or value` })),
    fc.tuple(fc.constantFrom('extra', '__proto__', 'constructor', 'prototype', 'id', 'accountId', 'admin', 'isDemo', 'status'), fc.jsonValue({ maxDepth: 2 })).map(
      // A computed key defines an own property even for __proto__: it reaches the wire as written.
      ([k, v]) => ({ value: { ...obj, [k]: v }, how: `unknown field ${k}` }),
    ),
    fc.integer({ min: 50, max: 3000 }).map((n) => {
      let nested: unknown = 1;
      for (let i = 0; i < n; i++) nested = { a: nested };
      return { value: { ...obj, [keys[0] ?? 'x']: nested }, how: `nested ${n} deep` };
    }),
  );
}

/** A body as bytes with the content type it is sent under; most are broken in some way. */
function bodyFor(route: FuzzRoute, pool: TokenPool): fc.Arbitrary<{ payload?: string | Buffer; contentType?: string | string[]; how: string }> {
  const near = valueFor(route.schema.body).chain((v) => mutateObject(v, route.schema.body, pool));
  const json = near.map(({ value, how }) => {
    let text: string;
    try {
      text = JSON.stringify(value) ?? 'null';
    } catch {
      text = '{}';
    }
    return { text, how };
  });
  const contentType: fc.Arbitrary<string | string[]> = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    { weight: 1, arbitrary: fc.constant<string | string[]>(['application/json', 'text/plain']) },
    { weight: 1, arbitrary: hostileString(30).map(headerSafe) },
  );
  return fc.oneof(
    { weight: 5, arbitrary: fc.tuple(json, contentType).map(([j, ct]) => ({ payload: j.text, contentType: ct, how: `json body ${j.how}` })) },
    {
      weight: 2,
      arbitrary: fc.tuple(json, fc.nat()).map(([j, n]) => ({
        payload: j.text.slice(0, j.text.length > 1 ? n % (j.text.length - 1) : 0),
        contentType: 'application/json',
        how: 'truncated json',
      })),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => ({
        payload: '['.repeat(n) + ']'.repeat(n),
        contentType: 'application/json',
        how: `json nested ${n} deep`,
      })),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 100, max: 5_000 }).map((n) => ({
        payload: '{"a":'.repeat(n) + '1' + '}'.repeat(n),
        contentType: 'application/json',
        how: `json objects nested ${n} deep`,
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          Buffer.from([0x7b, 0x22, 0x65, 0x6d, 0x61, 0x69, 0x6c, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
          Buffer.from([0xc3, 0x28, 0xa0, 0xa1]),
          Buffer.from([0xed, 0xa0, 0x80]),
          Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
          Buffer.from([0x00, 0x00, 0x00, 0x7b]),
          Buffer.from('{"email":"\\ud800","password":"\\udfff","appId":"\\u0000"}'),
        )
        .chain((payload) => contentType.map((ct) => ({ payload, contentType: ct, how: 'non-UTF-8 body' }))),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 66_000, max: 300_000 }).map((n) => ({
        payload: JSON.stringify({ pad: 'x'.repeat(n) }),
        contentType: 'application/json',
        how: `oversized body ${n} B`,
      })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(near, fc.boolean()).map(([{ value, how }, junk]) => ({
        payload: junk
          ? 'a=%&b=%zz&c[]=1&c=2&&=&email=%ff'
          : new URLSearchParams(
              Object.entries((value ?? {}) as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? '']),
            ).toString(),
        contentType: 'application/x-www-form-urlencoded',
        how: junk ? 'broken form' : `form body ${how}`,
      })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', '[]', 'null', '0', '"str"', 'true', '{}', '{', '}', '[', '{"a":1}{"b":2}', '\u0000').chain((payload) =>
        contentType.map((ct) => ({ payload, contentType: ct, how: `body ${JSON.stringify(payload)}` })),
      ),
    },
    { weight: 1, arbitrary: fc.constant({ how: 'no body' }) },
  );
}

const CREDENTIAL_QUERY_KEYS = ['access_token', 'token', 'refresh_token', 'apiKey', 'password', 'secret', 'Authorization', 'key'];

function queryFor(route: FuzzRoute, pool: TokenPool): fc.Arbitrary<{ query: string; how: string }> {
  const enc = (s: string): string => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '?'));
  const fromSchema = route.schema.querystring?.properties
    ? valueFor(route.schema.querystring)
        .chain((v) => mutateObject(v, route.schema.querystring, pool))
        .map(({ value, how }) => ({
          query: `?${Object.entries((value ?? {}) as Record<string, unknown>)
            .map(([k, v]) => `${enc(k)}=${enc(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))}`)
            .join('&')}`,
          how: `query from its schema, ${how}`,
        }))
    : fc.constant({ query: '', how: '' });
  return fc.oneof(
    { weight: 4, arbitrary: fromSchema },
    { weight: 8, arbitrary: fc.constant({ query: '', how: '' }) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...CREDENTIAL_QUERY_KEYS), fc.constantFrom(...pool.all.map((c) => c.value)))
        .map(([k, v]) => ({ query: `?${k}=${enc(v)}`, how: `credential in query (${k})` })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...pool.all.map((c) => c.value)).map((v) => ({ query: `?q=${enc(v)}`, how: 'token value in an innocent query key' })),
    },
    {
      weight: 2,
      arbitrary: fc
        .array(fc.tuple(fc.string({ maxLength: 10 }), hostileString(20)), { maxLength: 5 })
        .map((pairs) => ({ query: `?${pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&')}`, how: 'random query' })),
    },
    { weight: 1, arbitrary: fc.constantFrom('?%', '?a=%zz', '?a=%ff%fe', '?&&&', '?a[b][c]=1', '?' + 'a=1&'.repeat(2000)).map((query) => ({ query, how: 'malformed query' })) },
  );
}

function pathFor(route: FuzzRoute, ids: readonly string[]): fc.Arbitrary<{ path: string; how: string }> {
  const param = fc.oneof(
    { weight: 3, arbitrary: ids.length ? fc.constantFrom(...ids) : fc.constant('1') },
    { weight: 2, arbitrary: hostileString(30).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '?'))) },
    { weight: 2, arbitrary: fc.constantFrom(...EDGE_NUMBERS, '1.5', '99999999999999999999', '%00', '..', '%2e%2e', '%ff', '%', 'null') },
  );
  const segments = route.url.split('/');
  const filled = fc.tuple(...segments.map((seg) => (seg.startsWith(':') || seg === '*' ? param : fc.constant(seg)))).map((parts) => parts.join('/'));
  return fc.oneof(
    { weight: 8, arbitrary: filled.map((path) => ({ path, how: '' })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(filled, fc.constantFrom('/', '//', '/x', '%20', '%ff', '/..', '.json', '/%2F', '?', '#', ';a=b', '/' + 'a'.repeat(5000)))
        .map(([path, suffix]) => ({ path: path + suffix, how: `path + ${JSON.stringify(suffix.slice(0, 12))}` })),
    },
    { weight: 1, arbitrary: filled.map((path) => ({ path: path.toUpperCase(), how: 'upper-case path' })) },
    { weight: 1, arbitrary: filled.map((path) => ({ path: `/${path}`, how: 'double leading slash' })) },
  );
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface FuzzContext {
  pool: TokenPool;
  /** Ids of real records, as path parameters. */
  ids: readonly string[];
  /** Coherent real credentials (test/helpers/credentials.ts): they take requests past authentication. */
  profiles: readonly { label: string; headers: Record<string, string>; scopes?: string[] }[];
}

/**
 * A real credential set, as is or with one of its headers dropped or swapped for a look-alike.
 * Mostly one that authenticates on this route's path (so that what lies behind authentication is
 * fuzzed), sometimes any (credentials of the wrong kind).
 */
function profileFor(ctx: FuzzContext, route: FuzzRoute): fc.Arbitrary<{ headers: Record<string, string>; real: boolean; how: string }> {
  const none = fc.constant({ headers: {}, real: false, how: '' });
  if (ctx.profiles.length === 0) return none;
  const fakes = ctx.pool.all.filter((c) => !c.real);
  const home = ctx.profiles.filter((p) => p.scopes?.some((prefix) => route.url.startsWith(prefix)));
  const chosen = home.length
    ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...home) }, { weight: 1, arbitrary: fc.constantFrom(...ctx.profiles) })
    : fc.constantFrom(...ctx.profiles);
  return fc.oneof(
    { weight: 2, arbitrary: none },
    {
      weight: 3,
      arbitrary: fc.tuple(chosen, fc.nat(5), fc.nat(), fc.constantFrom(...fakes)).map(([p, tamper, which, fake]) => {
        const names = Object.keys(p.headers);
        const name = names[which % names.length]!;
        if (tamper === 0) {
          const { [name]: _drop, ...rest } = p.headers;
          return { headers: rest, real: true, how: `${p.label} without ${name}` };
        }
        if (tamper === 1) return { headers: { ...p.headers, [name]: fake.value }, real: names.length > 1, how: `${p.label} with ${name}: ${fake.label}` };
        return { headers: { ...p.headers }, real: true, how: p.label };
      }),
    },
  );
}

/**
 * One request derived from a route. Half are "focused": a request that would succeed (the route's
 * own credentials, a body from its schema, JSON) with one thing wrong, so that the checks deep in
 * the handler and the store see hostile values too; the other half break several things at once.
 */
export function requestFor(route: FuzzRoute, ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(focusedRequestFor(route, ctx), chaoticRequestFor(route, ctx));
}

function focusedRequestFor(route: FuzzRoute, ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const { pool, ids } = ctx;
  const home = ctx.profiles.filter((p) => p.scopes?.some((prefix) => route.url.startsWith(prefix)));
  const profile = home.length ? fc.constantFrom(...home) : fc.constant(null);
  const fromSchema = (schema: JsonSchema | undefined): fc.Arbitrary<{ value: unknown; how: string }> =>
    valueFor(schema).chain((v) => mutateObject(v, schema, pool));
  const validBody = valueFor(route.schema.body).map((value) => ({ value, how: '' }));
  const queryString = (value: unknown): string => {
    const entries = Object.entries((value ?? {}) as Record<string, unknown>);
    const enc = (x: string): string => encodeURIComponent(x.replace(/[\ud800-\udfff]/g, '?'));
    return entries.length ? `?${entries.map(([k, v]) => `${enc(k)}=${enc(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))}`).join('&')}` : '';
  };
  const validQuery = route.schema.querystring?.properties ? valueFor(route.schema.querystring).map((value) => ({ value, how: '' })) : fc.constant({ value: {}, how: '' });
  const realId = ids.length ? fc.constantFrom(...ids) : fc.constant('1');
  const validPath = fc
    .tuple(...route.url.split('/').map((seg) => (seg.startsWith(':') ? realId : fc.constant(seg === '*' ? 'x' : seg))))
    .map((parts) => ({ path: parts.join('/'), how: '' }));
  // A path with its parameters replaced by edge numbers and hostile strings (or, without parameters, mangled).
  const edgeParam = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
    { weight: 2, arbitrary: hostileString(30).map((x) => encodeURIComponent(x.replace(/[\ud800-\udfff]/g, '?'))) },
    { weight: 1, arbitrary: realId },
  );
  const badPath = route.url.includes(':')
    ? fc
        .tuple(...route.url.split('/').map((seg) => (seg.startsWith(':') ? edgeParam.map((v) => [v, true] as const) : fc.constant([seg, false] as const))))
        .map((parts) => ({ path: parts.map(([v]) => v).join('/'), how: `parameters ${parts.filter(([, p]) => p).map(([v]) => v.slice(0, 20)).join(', ')}` }))
    : pathFor(route, ids);
  // Exactly one of: the path, the body, the query string.
  const broken = fc.constantFrom<'path' | 'body' | 'query'>('path', 'body', 'query');
  return fc
    .tuple(profile, broken, badPath, validPath, fromSchema(route.schema.body), validBody, route.schema.querystring?.properties ? fromSchema(route.schema.querystring) : validQuery, validQuery)
    .map(([p, which, badPath, goodPath, badBody, goodBody, badQuery, goodQuery]) => {
      const path = which === 'path' ? badPath : goodPath;
      const body = which === 'body' ? badBody : goodBody;
      const query = which === 'query' ? badQuery : goodQuery;
      const headers: Record<string, string> = { ...(p?.headers ?? {}) };
      let payload: string | undefined;
      if (WRITE_METHODS.has(route.method)) {
        payload = JSON.stringify(body.value) ?? '{}';
        headers['content-type'] = 'application/json';
      }
      const mutations = [p ? p.label : 'no credential', `focused on the ${which}`, path.how, body.how, query.how].filter(Boolean);
      return {
        method: route.method,
        url: path.path + queryString(query.value),
        headers,
        ...(payload !== undefined ? { payload } : {}),
        mayMutate: p !== null && WRITE_METHODS.has(route.method),
        route: `${route.method} ${route.url}`,
        mutations,
      };
    });
}

function chaoticRequestFor(route: FuzzRoute, ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const { pool, ids } = ctx;
  const schemaHeaders = Object.keys(route.schema.headers?.properties ?? {}).map((h) => h.toLowerCase());
  const headerNames = [...new Set([...schemaHeaders, ...CREDENTIAL_HEADERS])];
  const credential = credentialValue(pool);
  const headerValue = fc.oneof(
    { weight: 6, arbitrary: credential },
    { weight: 2, arbitrary: hostileString(40).map((v) => ({ value: headerSafe(v), real: false, label: 'hostile' })) },
    { weight: 1, arbitrary: fc.integer({ min: 4096, max: 60_000 }).map((n) => ({ value: 'h'.repeat(n), real: false, label: 'huge' })) },
    { weight: 1, arbitrary: fc.tuple(credential, credential).map(([a, b]) => ({ value: [a.value, b.value], real: a.real || b.real, label: 'duplicated' })) },
  );
  const headers = fc.tuple(
    fc.subarray(headerNames, { maxLength: 4 }).chain((names) => fc.tuple(...names.map((n) => headerValue.map((v) => [n, v] as const)))),
    fc.subarray(OTHER_HEADERS, { maxLength: 2 }).chain((names) => fc.tuple(...names.map((n) => hostileString(30).map((v) => [n, headerSafe(v)] as const)))),
  );
  const method = fc.oneof(
    { weight: 9, arbitrary: fc.constant(route.method) },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND') },
  );
  return fc
    .record({
      profile: profileFor(ctx, route),
      method,
      path: pathFor(route, ids),
      query: queryFor(route, pool),
      headers,
      body: bodyFor(route, pool),
      bodyOnRead: fc.nat(9),
    })
    .map(({ profile, method, path, query, headers: [cred, other], body, bodyOnRead }) => {
      const out: Record<string, string | string[]> = { ...profile.headers };
      const mutations: string[] = profile.how ? [profile.how] : [];
      let carriesReal = profile.real;
      for (const [name, v] of cred) {
        out[name] = Array.isArray(v.value) ? v.value.map(headerSafe) : headerSafe(v.value);
        carriesReal ||= v.real;
        mutations.push(`${name}: ${v.label}`);
      }
      for (const [name, v] of other) out[name] = v;
      const sendsBody = WRITE_METHODS.has(method) || bodyOnRead === 0;
      let payload: string | Buffer | undefined;
      if (sendsBody && body.payload !== undefined) {
        payload = body.payload;
        if (body.contentType !== undefined && body.contentType !== '') out['content-type'] = body.contentType;
        mutations.push(body.how);
        const text = typeof payload === 'string' ? payload : payload.toString('latin1');
        for (const v of pool.realValues) if (text.includes(v)) carriesReal = true;
      }
      if (query.how) mutations.push(query.how);
      if (path.how) mutations.push(path.how);
      if (method !== route.method) mutations.push(`method ${method}`);
      return {
        method,
        url: path.path + query.query,
        headers: out,
        ...(payload !== undefined ? { payload } : {}),
        mayMutate: carriesReal && WRITE_METHODS.has(method),
        route: `${route.method} ${route.url}`,
        mutations,
      };
    });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends bytes as they are over a TCP connection and parses the first response (a request that is
 * not HTTP at all may get none: then `null`). For what inject() cannot express.
 */
export async function sendRaw(port: number, bytes: Buffer, options: { endAfterWrite?: boolean; timeoutMs?: number } = {}): Promise<RawResponse | null> {
  return new Promise<RawResponse | null>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const parsed = parseRawResponse(Buffer.concat(chunks));
      resolve(parsed ? { status: parsed.status, headers: parsed.headers, body: parsed.body } : null);
    };
    const timer = setTimeout(finish, options.timeoutMs ?? 3000);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (parseRawResponse(Buffer.concat(chunks))?.complete) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.write(bytes, () => {
      if (options.endAfterWrite) socket.end();
    });
  });
}

interface ParsedRaw extends RawResponse {
  complete: boolean;
}

function parseRawResponse(buf: Buffer): ParsedRaw | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return null;
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
  if (!m) return null;
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let bodyBuf = buf.subarray(end + 4);
  let complete = false;
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    complete = bodyBuf.length >= n;
    bodyBuf = bodyBuf.subarray(0, n);
  } else if (headers['transfer-encoding'] === 'chunked') {
    const decoded = decodeChunked(bodyBuf);
    complete = decoded !== null;
    bodyBuf = decoded ?? bodyBuf;
  }
  return { status: Number(m[1]), headers, body: bodyBuf.toString('utf8'), complete };
}

function decodeChunked(buf: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol === -1) return null;
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) return null;
    if (size === 0) return Buffer.concat(parts);
    if (buf.length < eol + 2 + size + 2) return null;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

export interface RawCase {
  /** The path the request names, for the envelope check (null: not a request at all). */
  path: string | null;
  bytes: Buffer;
  how: string;
  /** The connection is closed mid-request: no response is owed. */
  truncated?: boolean;
}

/** Hand-made framing abuse over a real socket: what Node's HTTP parser and the clientErrorHandler see. */
export function rawCaseFor(route: FuzzRoute, pool: TokenPool, maxHeaderSize: number): fc.Arbitrary<RawCase> {
  const path = route.url.replace(/:[^/]+|\*/g, '1');
  const token = fc.constantFrom(...pool.all.map((c) => c.value));
  const latin = (s: string): Buffer => Buffer.from(s, 'latin1');
  const req = (lines: string[], body = ''): Buffer => latin(`${lines.join('\r\n')}\r\n\r\n${body}`);
  const m = route.method === 'HEAD' ? 'GET' : route.method;
  return fc.oneof(
    fc.integer({ min: maxHeaderSize + 1, max: maxHeaderSize * 3 }).map((n) => ({
      path,
      bytes: req([`${m} ${path} HTTP/1.1`, 'Host: x', `X-Pad: ${'p'.repeat(n)}`, 'Connection: close']),
      how: `headers of ${n} B (over the limit)`,
    })),
    fc.integer({ min: 0x80, max: 0xff }).chain((c) =>
      token.map((t) => ({
        path,
        bytes: Buffer.concat([latin(`${m} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${t}`), Buffer.from([c, c]), latin('\r\nRefresh: '), Buffer.from([0xc3, 0x28]), latin('\r\nConnection: close\r\n\r\n')]),
        how: 'non-UTF-8 bytes in token headers',
      })),
    ),
    token.map((t) => ({
      path,
      bytes: req([`${m} ${path} HTTP/1.1`, 'Host: x', `Authorization: ${t}`, `Authorization: ${t}x`, `Refresh: ${t}`, `Refresh: ${t}`, 'Connection: close']),
      how: 'duplicated credential headers',
    })),
    fc.constant({
      path,
      bytes: req([`POST ${path} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', 'Content-Length: 5', 'Content-Length: 7', 'Connection: close'], '{"a":1}'),
      how: 'two different Content-Length headers',
    }),
    fc.constant({
      path,
      bytes: req([`POST ${path} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', 'Content-Length: 7', 'Transfer-Encoding: chunked', 'Connection: close'], '{"a":1}'),
      how: 'Content-Length and Transfer-Encoding together',
    }),
    fc.constant({
      path,
      bytes: req([`POST ${path} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', 'Transfer-Encoding: chunked', 'Connection: close'], 'zz\r\n{"a":1}\r\n0\r\n\r\n'),
      how: 'invalid chunk size',
    }),
    fc.integer({ min: 10, max: 1000 }).map((n) => ({
      path,
      bytes: req([`POST ${path} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', `Content-Length: ${n + 20}`, 'Connection: close'], '{"email":"'.padEnd(n, 'a')),
      how: 'body shorter than Content-Length, then EOF',
      truncated: true,
    })),
    fc.constant({
      path,
      bytes: req([`POST ${path} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', 'Content-Length: 2', 'Connection: close'], '{"email":"x"}GARBAGE'),
      how: 'body longer than Content-Length',
    }),
    fc.constant({ path, bytes: Buffer.concat([latin(`${m} ${path}`), Buffer.from([0xff, 0xfe]), latin(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]), how: 'non-UTF-8 bytes in the path' }),
    fc.constant({ path, bytes: req([`${m} ${path}%ff%fe HTTP/1.1`, 'Host: x', 'Connection: close']), how: 'bad percent-encoding in the path' }),
    fc.constant({ path, bytes: req([`${m} ${path} HTTP/1.1`, 'Host: x', 'Bad Header: y', 'Connection: close']), how: 'space in a header name' }),
    fc.constant({ path, bytes: req([`${m} ${path} HTTP/1.1`, 'Host: x', 'X: a\u0000b', 'Connection: close']), how: 'NUL in a header value' }),
    fc.constant({ path, bytes: req([`${m} ${path} HTTP/9.9`, 'Host: x', 'Connection: close']), how: 'HTTP/9.9' }),
    fc.constant({ path: null, bytes: latin('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'), how: 'a TLS ClientHello' }),
    fc.integer({ min: maxHeaderSize, max: maxHeaderSize * 2 }).map((n) => ({
      path: `${path}?${'a'.repeat(n)}`,
      bytes: req([`${m} ${path}?${'a'.repeat(n)} HTTP/1.1`, 'Host: x', 'Connection: close']),
      how: `URL of ${n} B`,
    })),
  );
}
