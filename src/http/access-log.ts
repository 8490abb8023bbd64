/**
 * The access log: Fastify's per-request log lines, made cheap enough for the hot path.
 *
 * By default Fastify writes two info lines per request (received, completed). Serialised, redacted
 * and written synchronously, they cost more than a cached token check itself (bench/RESULTS.md).
 * Here one line is written when the request completes, with method, path, client address, status,
 * time and the request id (`reqId`, as on every line of a request; src/observability/request-id.ts):
 * at info for failures (4xx; 5xx at warn), at debug for successes, so `info` keeps what an
 * operator investigates and `TOKEND_LOG_LEVEL=debug` gives a full access log.
 *
 * The line is written without the logger's redaction. Redaction (pino's `redact`, with wildcard
 * paths such as `*.token`) runs on every value of a line, the message and the request id
 * included, and cost more than the rest of a refused check (a clone and a walk per value, about
 * 25 µs a line): the whole price of an unknown token at `info`. The access line needs none: it
 * holds only what the whitelisting serializers make of the request and the reply (method, path
 * without its query string, client address; status), a number, the request id (safe characters
 * only, src/observability/request-id.ts) and a constant message. Every other line of a request
 * (an error, a handler's warning) goes through the request's logger, redaction included.
 */
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level } from 'pino';

export class AccessLog extends LogController {
  override incomingRequest(): void {
    // The completion line carries the request too; one line per request, not two.
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.error({ req: request, res: reply, responseTime: reply.elapsedTime, err: error }, 'request errored');
      return;
    }
    const status = reply.statusCode;
    const level: Level = status >= 500 ? 'warn' : status >= 400 ? 'info' : 'debug';
    const log = reply.log as unknown;
    if (log instanceof LazyChildLogger) log.accessLine(level, request, reply);
    else reply.log[level]({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** The logger of access lines, one per app logger: its own, without redaction (see above). */
const accessLoggers = new WeakMap<FastifyBaseLogger, FastifyBaseLogger>();

function accessLoggerOf(parent: FastifyBaseLogger): FastifyBaseLogger {
  let logger = accessLoggers.get(parent);
  if (logger === undefined) {
    logger = parent.child({}, { redact: [] } as ChildLoggerOptions);
    accessLoggers.set(parent, logger);
  }
  return logger;
}

type LevelCheck = { isLevelEnabled?: (level: Level) => boolean };

/**
 * The access-log line of a request that never reached Fastify (src/http/check-lane.ts): the line
 * `accessLine` writes for a Fastify request, key for key (the request id, then what the `req` and
 * `res` serializers make of the request and its status, then the time in milliseconds).
 */
export function writeAccessLine(parent: FastifyBaseLogger, level: Level, reqId: string, req: object, status: number, responseTime: number): void {
  accessLoggerOf(parent)[level]({ reqId, req, res: { statusCode: status }, responseTime }, 'request completed');
}

/** Whether `parent` writes lines of `level`: the caller then builds the line, else nothing. */
export function writesLevel(parent: FastifyBaseLogger, level: Level): boolean {
  return (parent as unknown as LevelCheck).isLevelEnabled?.(level) !== false;
}

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
    if (!writesLevel(this.#parent, level)) return;
    (this.#real()[level] as (...a: unknown[]) => void)(...args);
  }

  /** The access-log line of the request: its bindings (the request id) first, as its child would write them. */
  accessLine(level: Level, request: FastifyRequest, reply: FastifyReply): void {
    if (!writesLevel(this.#parent, level)) return;
    const line: Record<string, unknown> = { ...this.#bindings };
    line.req = request;
    line.res = reply;
    line.responseTime = reply.elapsedTime;
    accessLoggerOf(this.#parent)[level](line, 'request completed');
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
