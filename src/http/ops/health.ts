import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/tokend.ts';

/** `/healthz`: the process is up. `/readyz`: it can reach its database (load balancers route on this). */
export async function registerHealth(app: FastifyInstance, core: Core): Promise<void> {
  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags: ['ops'], summary: 'Readiness: the database answers' } }, async (_request, reply) => {
    try {
      await core.store.ping();
      return { status: 'ready', database: core.store.kind };
    } catch {
      return reply.code(503).header('retry-after', '5').send({ status: 'unavailable', database: core.store.kind });
    }
  });
}
