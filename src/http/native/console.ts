/**
 * Everything behind the web console, in one encapsulated plugin: the cabinet API, the admin API
 * and the console's static files. Its hooks (cookies, JSON-only bodies, the error mapping) reach
 * only these routes.
 */
import cookie from '@fastify/cookie';
import { InvalidInputError } from '../../core/errors.ts';
import type { Core } from '../../core/tokend.ts';
import { sendWire, type HttpApp } from '../dialect.ts';
import { registerAdmin } from './admin/index.ts';
import { registerCabinet } from './cabinet/index.ts';
import { invalidInputReply } from './console-auth.ts';
import { registerConsoleStatic } from './console-static.ts';

export interface ConsoleOptions {
  /** Where the built console is (default: console/dist of this checkout). */
  distDir?: string;
}

export async function registerConsole(app: HttpApp, core: Core, options: ConsoleOptions = {}): Promise<void> {
  await app.register(async (apis) => {
    await apis.register(cookie);
    // JSON only. A page on another site can post a form (urlencoded, multipart, text/plain) to us
    // without a CORS preflight, but never a JSON body: refusing the rest (415) closes that door
    // before the CSRF check even runs.
    apis.removeAllContentTypeParsers();
    apis.addContentTypeParser('application/json', { parseAs: 'string' }, apis.getDefaultJsonParser('error', 'error'));
    // Actions without parameters (revoke, disable, …) may be sent with no body at all.
    apis.addHook('preValidation', async (request) => {
      if (request.body === undefined && request.method !== 'GET' && request.method !== 'HEAD') request.body = {};
    });
    apis.setErrorHandler((error, _request, reply) => {
      if (error instanceof InvalidInputError) return sendWire(reply, invalidInputReply(error));
      // Everything else (validation, bad JSON, 503) is rendered by the app's handler.
      throw error;
    });
    await registerCabinet(apis, core);
    await registerAdmin(apis, core);
  });
  await app.register(async (files) => registerConsoleStatic(files, options));
}
