/**
 * The access log: Fastify's per-request log lines, made cheap enough for the hot path.
 *
 * By default Fastify writes two info lines per request (received, completed). Serialised, redacted
 * and written synchronously, they cost more than a cached token check itself (bench/RESULTS.md).
 * Here one line is written when the request completes, with method, path, client address, status,
 * time and the request id (`reqId`, as on every line of a request; src/observability/request-id.ts):
 * at info for failures (4xx; 5xx at warn), at debug for successes, so `info` keeps what an
 * operator investigates and `TOKEND_LOG_LEVEL=debug` gives a full access log.
 */
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level } from 'pino';

export class AccessLog extends LogController {
  override incomingRequest(): void {
    // The completion line carries the request too; one line per request, not two.
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) {
      reply.log.error({ ...line, err: error }, 'request errored');
      return;
    }
    const status = reply.statusCode;
    if (status >= 500) reply.log.warn(line, 'request completed');
    else if (status >= 400) reply.log.info(line, 'request completed');
    else reply.log.debug(line, 'request completed');
  }
}

type LevelCheck = { isLevelEnabled?: (level: Level) => boolean };

/**
 * Fastify gives every request a child logger (its request id bound). With pino that means
 * serialising and redacting the bindings, a few microseconds per request, though most requests now
 * write nothing. This child is made on the first line that is actually written; a line below the
 * level costs a comparison. (A class, not closures: one small allocation per request.)
 */
class LazyChildLogger {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;
  #child: FastifyBaseLogger | null = null;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  #real(): FastifyBaseLogger {
    return (this.#child ??= this.#parent.child(this.#bindings, this.#options));
  }

  #write(level: Level, args: unknown[]): void {
    if ((this.#parent as unknown as LevelCheck).isLevelEnabled?.(level) === false) return;
    (this.#real()[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.#child ? this.#child.level : this.#parent.level;
  }
  set level(level: string) {
    this.#real().level = level;
  }
  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options);
  }
  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#write('error', args);
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }
  info(...args: unknown[]): void {
    this.#write('info', args);
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }
  silent(): void {}
}

/** Fastify's childLoggerFactory: the request's child logger, made on its first line. */
export function lazyChildLogger(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  // A route with a level of its own gets its child at once: the parent's level says nothing then.
  if (options.level !== undefined) return parent.child(bindings, options);
  return new LazyChildLogger(parent, bindings, options) as unknown as FastifyBaseLogger;
}
