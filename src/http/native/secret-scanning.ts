/**
 * `POST /secret-scanning/report`: reports of published secrets in GitHub's secret-scanning partner
 * format (docs/secret-scanning.md). A report is a JSON array of `{token, type, url, source}`,
 * signed with ECDSA (P-256, SHA-256) over its exact bytes: `Github-Public-Key-Identifier` names
 * the key, `Github-Public-Key-Signature` is the base64 DER signature. Keys come from the file
 * TOKEND_SECRET_SCANNING_KEYS_FILE; without it the route answers 404. The signature is checked
 * before anything else is read, so an unsigned caller learns nothing about any token.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Core } from '../../core/tokend.ts';
import { sendWire, type HttpApp } from '../dialect.ts';
import { headerValue } from '../lang.ts';
import { consoleContext } from './console-auth.ts';
import { nativeError } from './envelope.ts';
import { nativeErrorSchema } from './schemas.ts';

/** Reads GitHub's key document (`GET /meta/public_keys/secret_scanning`); throws naming the file. */
export function loadReporterKeys(file: string): Map<string, KeyObject> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`TOKEND_SECRET_SCANNING_KEYS_FILE ${file}: ${(error as Error).message}`, { cause: error });
  }
  const list = (doc as { public_keys?: unknown }).public_keys;
  if (!Array.isArray(list) || list.length === 0) throw new Error(`TOKEND_SECRET_SCANNING_KEYS_FILE ${file}: no "public_keys" array`);
  const keys = new Map<string, KeyObject>();
  for (const entry of list as { key_identifier?: unknown; key?: unknown }[]) {
    if (typeof entry.key_identifier !== 'string' || typeof entry.key !== 'string') {
      throw new Error(`TOKEND_SECRET_SCANNING_KEYS_FILE ${file}: every key needs "key_identifier" and "key"`);
    }
    const key = createPublicKey(entry.key);
    if (key.asymmetricKeyType !== 'ec') throw new Error(`TOKEND_SECRET_SCANNING_KEYS_FILE ${file}: key ${entry.key_identifier} is not an ECDSA key`);
    keys.set(entry.key_identifier, key);
  }
  return keys;
}

const ReportItem = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 4096 }),
  type: Type.String({ maxLength: 200 }),
  url: Type.Optional(Type.String({ maxLength: 4096 })),
  source: Type.Optional(Type.String({ maxLength: 200 })),
});
const ReportBody = Type.Array(ReportItem, { maxItems: 1000 });
const Verdicts = Type.Array(
  Type.Object({
    token_hash: Type.String({ description: 'SHA-256 (hex) of the reported token.' }),
    token_type: Type.String({ description: 'The type the report gave.' }),
    label: Type.Union([Type.Literal('true_positive'), Type.Literal('false_positive')], { description: 'true_positive: a secret this instance issued.' }),
  }),
);

export async function registerSecretScanning(app: HttpApp, core: Core): Promise<void> {
  const file = core.config.secretScanningKeysFile;
  const keys = file ? loadReporterKeys(file) : null;
  const raw = new WeakMap<FastifyRequest, Buffer>();
  // The signature covers the bytes as sent: keep them beside the parsed body.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    raw.set(request, body as Buffer);
    parseJson(request, (body as Buffer).toString('utf8'), done);
  });

  app.post(
    '/secret-scanning/report',
    {
      schema: {
        tags: ['native'],
        summary: 'Report published tokend secrets (GitHub secret-scanning partner format, ECDSA-signed)',
        body: ReportBody,
        response: {
          200: Verdicts,
          401: nativeErrorSchema(['invalid_signature'], 'Not signed by a configured key.'),
          404: nativeErrorSchema(['not_found'], 'No reporter keys are configured.'),
        },
      },
      preValidation: async (request, reply) => {
        if (!keys) return sendWire(reply, nativeError('not_found'));
        const id = headerValue(request.headers['github-public-key-identifier']);
        const signature = headerValue(request.headers['github-public-key-signature']);
        const key = id !== undefined ? keys.get(id) : undefined;
        const body = raw.get(request);
        if (!key || !signature || !body || !/^[A-Za-z0-9+/=]{1,1024}$/.test(signature)) return sendWire(reply, nativeError('invalid_signature'));
        if (!verify('sha256', body, key, Buffer.from(signature, 'base64'))) return sendWire(reply, nativeError('invalid_signature'));
        return undefined;
      },
    },
    async (request) => core.leaks.report(request.body, consoleContext(request)),
  );
}
