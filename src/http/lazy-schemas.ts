/**
 * Route schemas compiled on first use. Fastify compiles a validator (Ajv) and a response serializer
 * (fast-json-stringify) for every schema of every route when the app starts: for tokend's routes
 * that is most of what a start costs (about 0.7 s of CPU), though a node may never see a request
 * on most of them (the admin API on a verifier, the dialects an operator does not use). Here
 * each compiled function is a stand-in that compiles its schema the first time it runs and then
 * calls the result: a route's first request pays for its own schemas (a few milliseconds), and
 * what is never called is never compiled. `compileAll` compiles whatever is left, for a check that
 * every schema compiles (the tests).
 */
import SerializerSelector from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type BuildSerializer = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildSerializer']>;
type OnAjvCreate = NonNullable<NonNullable<FastifyServerOptions['ajv']>['onCreate']>;
type Ajv = Parameters<OnAjvCreate>[0];

/** An Ajv validate function, as Fastify calls it (`errors` read after a failed call). */
interface Validate {
  (data: unknown, context?: unknown): unknown;
  errors?: unknown;
  schemaEnv?: unknown;
}

// The serializer compiler of the Fastify that tokend runs: Fastify's own dependency, which npm
// installs once, at the top of node_modules, so this import loads Fastify's copy
// (scripts/build-server.mjs checks that). Imported rather than looked up from Fastify's directory
// at run time, so that the build bundles it once, with Fastify, instead of loading a second copy
// (and its Ajv) from node_modules at every start.
const defaultSerializers = (): BuildSerializer => (SerializerSelector as unknown as () => BuildSerializer)();

export class LazySchemas {
  /** Compilations not done yet: each compiles its schema when called. */
  readonly #pending = new Set<() => unknown>();
  readonly #base: { buildSerializer?: BuildSerializer; onAjvCreate?: OnAjvCreate };

  /** `base`: compilers to defer instead of Fastify's own (a cache shared between apps, say). */
  constructor(base: { buildSerializer?: BuildSerializer; onAjvCreate?: OnAjvCreate } = {}) {
    this.#base = base;
  }

  /** How many schemas have not been compiled yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Compiles every schema not compiled yet; throws what a schema that cannot compile throws. */
  compileAll(): void {
    for (const compile of [...this.#pending]) compile();
  }

  /** For Fastify's `ajv.onCreate`: the instance's `compile` returns stand-ins. */
  readonly onAjvCreate = (ajv: Ajv): void => {
    this.#base.onAjvCreate?.(ajv);
    const compile = ajv.compile.bind(ajv) as (schema: unknown) => Validate;
    (ajv as { compile: (schema: unknown) => Validate }).compile = (schema) => {
      const get = this.#once(() => compile(schema));
      const validate: Validate = (data, context) => {
        const real = get();
        const ok = real(data, context);
        validate.errors = real.errors;
        return ok;
      };
      // Fastify hands an Ajv function (one with `schemaEnv`) the request as the data's parent,
      // which Ajv needs to change a root value (defaults, coercion): the stand-in passes it on.
      validate.schemaEnv = true;
      return validate;
    };
  };

  /** For Fastify's `schemaController.compilersFactory.buildSerializer`. */
  readonly buildSerializer: BuildSerializer = (externalSchemas, options) => {
    const build = (this.#base.buildSerializer ?? defaultSerializers())(externalSchemas, options);
    return (route) => {
      const get = this.#once(() => build(route) as (data: unknown) => string);
      return (data: unknown) => get()(data);
    };
  };

  /** `make` run at most once, on the first call; pending until then. */
  #once<T>(make: () => T): () => T {
    let made: { value: T } | null = null;
    const get = (): T => {
      if (made === null) {
        made = { value: make() };
        this.#pending.delete(get);
      }
      return made.value;
    };
    this.#pending.add(get);
    return get;
  }
}
