/**
 * The floor: bare Fastify routes that answer what tokend answers, without looking at anything. No
 * logger, no hooks, no lookup, no storage: what the framework alone costs on this machine.
 * `GET /v3/security/api/auth/auth` answers a valid Invoicebox check; `POST /v1/tokens/refresh`
 * answers a ChatApp pair of the same size as tokend's. `node bench/peers/floor-server.ts <port>`.
 */
import Fastify from 'fastify';
import { CHECK_ANSWER, PAIR } from './answers.ts';

const port = Number(process.argv[2] ?? 0);

const app = Fastify({ logger: false });
app.get('/v3/security/api/auth/auth', async () => CHECK_ANSWER);
app.post('/v1/tokens/refresh', async () => PAIR);
app.get('/healthz', async () => ({ status: 'ok' }));
await app.listen({ port, host: '127.0.0.1' });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
process.once('SIGINT', () => void app.close().then(() => process.exit(0)));
