import { Type, type Static } from '@sinclair/typebox';
import type { Core } from '../../core/tokend.ts';
import type { HttpApp } from '../dialect.ts';

const database = Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')], { description: 'Which store this node uses.' });

const healthzSchema = {
  tags: ['ops'],
  summary: 'Liveness: the process is up',
  response: {
    200: Type.Object({ status: Type.Literal('ok') }, { description: 'The process answers.', examples: [{ status: 'ok' }] }),
  },
};

const readyzSchema = {
  tags: ['ops'],
  summary: 'Readiness: the database answers',
  description: 'Load balancers route on this: 503 while the database cannot be reached.',
  response: {
    200: Type.Object(
      { status: Type.Literal('ready'), database },
      { description: 'The database answers.', examples: [{ status: 'ready', database: 'sqlite' }] },
    ),
    503: {
      ...Type.Object(
        { status: Type.Union([Type.Literal('unavailable'), Type.Literal('draining')]), database },
        {
          description: 'The database cannot be reached (`unavailable`), or the node is shutting down (`draining`): route elsewhere.',
          examples: [{ status: 'unavailable', database: 'postgres' }],
        },
      ),
      headers: { 'retry-after': { type: 'integer', description: 'Seconds before asking again.' } },
    },
  },
};

/** The store's kind as the schemas name it (the store types it as any string). */
function databaseOf(core: Core): Static<typeof database> {
  const kind = core.databaseKind;
  if (kind === 'sqlite' || kind === 'postgres') return kind;
  throw new Error(`unknown store kind ${kind}`);
}

/** `/healthz`: the process is up. `/readyz`: it can reach its database (load balancers route on this). */
export async function registerHealth(app: HttpApp, core: Core, draining: () => boolean = () => false): Promise<void> {
  app.get('/healthz', { schema: healthzSchema }, async () => ({ status: 'ok' as const }));
  app.get('/readyz', { schema: readyzSchema }, async (_request, reply) => {
    // First thing on SIGTERM (src/cli/serve.ts): the balancer stops sending before the node stops accepting.
    if (draining()) return reply.code(503).header('retry-after', '5').send({ status: 'draining', database: databaseOf(core) });
    try {
      await core.ping();
      return { status: 'ready' as const, database: databaseOf(core) };
    } catch {
      return reply.code(503).header('retry-after', '5').send({ status: 'unavailable', database: databaseOf(core) });
    }
  });
}
