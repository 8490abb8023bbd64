/**
 * Serves the web console (console/dist, built by `npm run build:console`) at `/console/`, and
 * redirects `/` there. The console is a single-page app: any `/console/<page>` without a file
 * extension gets index.html. When the build is missing, a plain page says how to make it; tokend
 * itself keeps working.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PACKAGE_ROOT } from '../../layout.ts';
import { sendWire } from '../dialect.ts';
import { nativeError } from './envelope.ts';

export const DEFAULT_CONSOLE_DIST = fileURLToPath(new URL('console/dist/', PACKAGE_ROOT));

/**
 * Everything the console loads comes from this origin (no CDN, no external fonts), so the policy
 * can be tight: no inline script, no framing, no form posts elsewhere.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tokend console not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The tokend console has not been built</h1>
<p>tokend is running; only the web console's static files are missing. Build them once, then restart tokend:</p>
<pre>npm run build:console</pre>
<p>(<code>npm install</code> runs this too.) The APIs under <code>/api/cabinet</code> and <code>/api/admin</code> work without it.</p>
<hr><p lang="ru">Веб-консоль не собрана. Выполните <code>npm run build:console</code> и перезапустите tokend.</p>
</body></html>`;

function looksLikePage(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  const last = path.slice(path.lastIndexOf('/') + 1);
  return !last.includes('.');
}

export async function registerConsoleStatic(app: FastifyInstance, options: { distDir?: string } = {}): Promise<void> {
  const dist = options.distDir ?? DEFAULT_CONSOLE_DIST;
  const built = existsSync(join(dist, 'index.html'));

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    // Hashed file names never change content: cache them for good. Everything else stays no-store.
    if (request.url.startsWith('/console/assets/') && reply.statusCode === 200) {
      reply.header('cache-control', 'public, max-age=31536000, immutable');
    }
    return payload;
  });

  const hide = { schema: { hide: true } };
  app.get('/', hide, async (_request, reply) => reply.redirect('/console/', 302));
  app.get('/console', hide, async (_request, reply) => reply.redirect('/console/', 302));

  if (!built) {
    const notBuilt = async (_request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> =>
      reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    app.get('/console/', hide, notBuilt);
    app.get('/console/*', hide, notBuilt);
    return;
  }

  // wildcard:false registers one route per file found now (the build is fixed while tokend runs),
  // which leaves `/console/*` free for the single-page-app fallback below.
  await app.register(fastifyStatic, { root: dist, prefix: '/console/', wildcard: false, index: 'index.html', decorateReply: true });
  app.get('/console/*', hide, async (request, reply) => {
    if (!looksLikePage(request.url)) return sendWire(reply, nativeError('not_found'));
    return reply.sendFile('index.html');
  });
}
