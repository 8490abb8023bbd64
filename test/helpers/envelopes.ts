/**
 * What an error response must look like on each surface, judged from the outside:
 * the fuzz, crash and hygiene tests call `checkErrorResponse` on every 4xx they see.
 *
 * The surface of a path comes from the dialects' own prefixes (src/http/dialects/index.ts), so a
 * new dialect is covered as soon as it is registered; its envelope shape must be added to SHAPES
 * below (the check fails loudly until it is, rather than letting it through unchecked).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DIALECTS } from '../../src/http/dialects/index.ts';
import { DEFAULT_CONSOLE_DIST } from '../../src/http/native/console-static.ts';
import type { ErrorCodeSpec } from '../../src/http/dialect.ts';
import { NATIVE_CODES } from '../../src/http/native/envelope.ts';

export type SurfaceName = string;

export interface Surface {
  name: SurfaceName;
  codes: Readonly<Record<string, ErrorCodeSpec>>;
}

const NATIVE: Surface = { name: 'native', codes: NATIVE_CODES };
/** RFC 6749 5.2 / RFC 7009 / RFC 7662 endpoints answer `{"error":"…","error_description":"…"}`. */
const OAUTH: Surface = { name: 'oauth2', codes: NATIVE_CODES };
const RFC6749_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'unsupported_token_type',
  'server_error',
  'temporarily_unavailable',
]);

/** The surface (and so the envelope) a request path gets; the same rule as src/http/app.ts. */
export function surfaceOf(url: string): Surface {
  const path = url.split('?')[0] ?? url;
  for (const { dialect } of DIALECTS) {
    if (dialect.prefixes.some((p) => path.startsWith(p))) return { name: dialect.name, codes: dialect.codes };
  }
  if (path.startsWith('/oauth2/')) return OAUTH;
  return NATIVE;
}

type ShapeCheck = (status: number, body: Record<string, unknown>, surface: Surface) => string | null;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkCode(surface: Surface, code: unknown, status: number): string | null {
  if (typeof code !== 'string' || code.length === 0) return `error code is not a string: ${JSON.stringify(code)}`;
  const spec = surface.codes[code];
  if (!spec) return `error code ${code} is not in the ${surface.name} code table (so not in docs/errors.md)`;
  if (spec.status !== status) return `error code ${code} is documented as ${spec.status}, sent with ${status}`;
  return null;
}

function checkFields(fields: unknown): string | null {
  if (fields === undefined) return null;
  if (!Array.isArray(fields)) return 'error.fields is not an array';
  for (const f of fields) {
    if (!isObject(f) || typeof f.name !== 'string' || typeof f.code !== 'string' || typeof f.message !== 'string') {
      return `error.fields entry is not {name,code,message}: ${JSON.stringify(f)}`;
    }
  }
  return null;
}

/** `{"error":{"code","message"[,"fields"]}}` and nothing else at the top level. */
const nativeShape: ShapeCheck = (status, body, surface) => {
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'error' || !isObject(body.error)) return `not {"error":{…}}: keys ${keys.join(',')}`;
  const e = body.error;
  if (typeof e.message !== 'string') return 'error.message is not a string';
  return checkCode(surface, e.code, status) ?? checkFields(e.fields);
};

const SHAPES: Record<string, ShapeCheck> = {
  native: nativeShape,
  oauth2(status, body, surface) {
    if (typeof body.error === 'string') {
      if (!RFC6749_ERRORS.has(body.error) && !surface.codes[body.error]) return `unknown OAuth error ${body.error}`;
      if (body.error_description !== undefined && typeof body.error_description !== 'string') return 'error_description is not a string';
      const extra = Object.keys(body).filter((k) => !['error', 'error_description', 'error_uri'].includes(k));
      return extra.length ? `unexpected keys ${extra.join(',')} in an OAuth error` : null;
    }
    return nativeShape(status, body, surface);
  },
  /** ChatApp: success false, error {code,message}, never `data`. */
  chatapp(status, body, surface) {
    if (body.success !== false) return 'success is not the boolean false';
    if ('data' in body) return 'an error carries `data`';
    const keys = Object.keys(body).sort().join(',');
    if (keys !== 'error,success') return `unexpected keys ${keys}`;
    if (!isObject(body.error)) return 'error is not an object';
    if (typeof body.error.message !== 'string') return 'error.message is not a string';
    return checkCode(surface, body.error.code, status) ?? checkFields(body.error.fields);
  },
  /** hoster.by: httpCode = status, statusCode "error", the code in messageList and codeList. */
  hoster(status, body, surface) {
    if (body.httpCode !== status) return `httpCode ${JSON.stringify(body.httpCode)} != HTTP status ${status}`;
    if (body.statusCode !== 'error') return `statusCode ${JSON.stringify(body.statusCode)} != "error"`;
    if ('payload' in body) return 'an error carries `payload`';
    const messages = isObject(body.messageList) ? body.messageList.error : undefined;
    const codes = isObject(body.codeList) ? body.codeList.error : undefined;
    if (!isObject(messages)) return 'messageList.error is not an object';
    if (!Array.isArray(codes) || codes.length === 0) return 'codeList.error is not a non-empty array';
    for (const code of codes) {
      const bad = checkCode(surface, code, status);
      if (bad) return bad;
      if (typeof messages[code as string] !== 'string') return `messageList.error has no message for ${String(code)}`;
    }
    return null;
  },
  /** Invoicebox: {"error":{"message","code"[,"fields"]}}, never `data`. */
  invoicebox(status, body, surface) {
    if ('data' in body) return 'an error carries `data`';
    return nativeShape(status, body, surface);
  },
};

const CONSOLE_BUILT = existsSync(join(DEFAULT_CONSOLE_DIST, 'index.html'));

/**
 * Without `npm run build:console` the console's pages answer 503 with a page saying how to build
 * it (src/http/native/console-static.ts): a state of the installation, not of the request.
 */
function consoleNotBuilt(url: string, status: number): boolean {
  return !CONSOLE_BUILT && status === 503 && /^\/console(\/|$|\?)/.test(url);
}

/** Something that reads like a stack trace or an internal path: never in a response. */
const STACK_TRACE = /\bat [^\s()]+ \([^()]*:\d+:\d+\)|\bat (file|node):|node:internal|\.(ts|js|mjs|cjs):\d+:\d+|\bError: [^\n]*\n\s+at /;

export function looksLikeStackTrace(text: string): boolean {
  return STACK_TRACE.test(text);
}

/**
 * Checks one response. Returns a description of what is wrong, or null. Every response: no stack
 * trace, `Cache-Control: no-store`, never >= 500. Every 4xx: JSON in the surface's envelope, with a
 * code from the surface's table sent with its documented status.
 */
export function checkResponse(
  request: { method: string; url: string },
  response: { status: number; headers: Record<string, string | string[] | number | undefined>; body: string },
  options: { allow5xx?: boolean } = {},
): string | null {
  const { status, body } = response;
  if (looksLikeStackTrace(body)) return 'the body looks like a stack trace';
  if (consoleNotBuilt(request.url, status)) return null;
  if (status >= 500 && !options.allow5xx) return `status ${status}`;
  const cacheControl = String(response.headers['cache-control'] ?? '');
  // The console's and the API docs' static files may be cached; everything else, and every error, may not.
  const staticFile = status < 400 && /^\/(console|docs)\//.test(request.url);
  if (!staticFile && !/\bno-store\b/.test(cacheControl)) return `Cache-Control is ${JSON.stringify(cacheControl)}, not no-store`;
  if ((status === 429 || status === 503) && !/^\d+$/.test(String(response.headers['retry-after'] ?? ''))) {
    return `a ${status} without a Retry-After in seconds`;
  }
  if (status < 400 || status >= 500) return null;
  if (request.method === 'HEAD') return null;
  const contentType = String(response.headers['content-type'] ?? '');
  if (!/^application\/json\b/.test(contentType)) return `a ${status} with Content-Type ${JSON.stringify(contentType)}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `a ${status} whose body is not JSON: ${body.slice(0, 80)}`;
  }
  if (!isObject(parsed)) return `a ${status} whose body is not a JSON object`;
  const surface = surfaceOf(request.url);
  const shape = SHAPES[surface.name];
  if (!shape) return `no envelope check for the ${surface.name} surface: add one to test/helpers/envelopes.ts`;
  const bad = shape(status, parsed, surface);
  return bad ? `${surface.name} envelope: ${bad}` : null;
}
