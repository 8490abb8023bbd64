/**
 * Policies over HTTP (docs/policies.md): the operator reads and sets the rules of any API token,
 * service-account key, app or account under `/api/admin/…/policy`; a signed-in account reads and
 * sets the rules of its own API tokens under `/api/cabinet/api-tokens/:id/policy`, within what the
 * operator allows: it may narrow (rate limits, allow-list, scopes) but credits are the operator's
 * (billing), so the cabinet keeps whatever credits rule the operator set.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { SubjectKind } from '../../core/policies/rules.ts';
import type { PolicyView as CorePolicyView, SubjectRef } from '../../core/policies/service.ts';
import type { Core } from '../../core/tokend.ts';
import { sendWire, type HttpApp } from '../dialect.ts';
import { accountOf, consoleContext } from './console-auth.ts';
import { readResponses, writeResponses } from './console-responses.ts';
import { Nullable, PolicyView } from './console-schemas.ts';
import { nativeError } from './envelope.ts';
import { RECORD_ID_PATTERN } from './ids.ts';
import { adminRoute } from './admin/access.ts';
import { notFound } from './answers.ts';

const Strict = { additionalProperties: false } as const;

// Types and shapes only: the ranges (a window of 0, a negative cost, a CIDR past /32) are core's
// to judge, so that every caller (HTTP, CLI) gets the same 400 naming the same field.
const RateWindow = Type.Object(
  {
    limit: Type.Integer({ description: 'Checks allowed per window (at least 1).' }),
    windowSeconds: Type.Integer({ description: 'Window length in seconds (1 to 31 days).' }),
    exact: Type.Optional(
      Type.Boolean({
        description: 'Count in the database, exactly across nodes, in fixed windows (one write per check); default: in each node\'s memory.',
      }),
    ),
  },
  Strict,
);
const Refill = Type.Object(
  {
    amount: Type.Integer({ description: 'The balance is reset to this at the start of each period.' }),
    interval: Type.Union([Type.Literal('daily'), Type.Literal('monthly')], { description: 'UTC day or calendar month.' }),
  },
  Strict,
);
const Credits = Type.Object(
  {
    remaining: Type.Integer({ description: 'Uses left: setting the rule sets the balance.' }),
    cost: Type.Optional(Type.Integer({ description: 'Cost of a check that names none (default 1).' })),
    refill: Type.Optional(Nullable(Refill)),
  },
  Strict,
);
const Expiry = Type.Object(
  {
    maxLifetimeSeconds: Type.Optional(Nullable(Type.Integer({ description: 'Longest lifetime of a new API token or key.' }))),
    required: Type.Optional(Type.Boolean({ description: 'New API tokens and keys must expire.' })),
  },
  Strict,
);
const AllowList = Nullable(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100, description: 'Addresses and CIDR ranges, IPv4 and IPv6; null: anywhere.' }));
const Scopes = Nullable(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100, description: 'API tokens only: a subset of the account\'s permissions; null: all of them.' }));
const RateLimits = Type.Array(RateWindow, { maxItems: 5 });

const AdminPolicyBody = Type.Object(
  {
    rateLimits: Type.Optional(Nullable(RateLimits)),
    credits: Type.Optional(Nullable(Credits)),
    ipAllowList: Type.Optional(AllowList),
    scopes: Type.Optional(Scopes),
    expiry: Type.Optional(Nullable(Expiry)),
  },
  Strict,
);
const CabinetPolicyBody = Type.Object(
  { rateLimits: Type.Optional(Nullable(RateLimits)), ipAllowList: Type.Optional(AllowList), scopes: Type.Optional(Scopes) },
  Strict,
);

const Removed = Type.Object({ removed: Type.Boolean() });

type View = Static<typeof PolicyView>;

function view(ref: SubjectRef, found: CorePolicyView | null): View {
  if (!found) {
    return { subject: ref.subject, accountId: ref.accountId, rules: { rateLimits: [], credits: null, ipAllowList: null, scopes: null, expiry: null }, creditsLeft: null, updatedAt: null };
  }
  return { subject: found.subject, accountId: found.accountId, rules: found.rules, creditsLeft: found.creditsLeft, updatedAt: found.updatedAt };
}

const SUBJECTS: readonly { path: string; kind: SubjectKind; pattern: string; what: string }[] = [
  { path: 'api-tokens', kind: 'api_token', pattern: '^[0-9a-fA-F-]{1,64}$', what: 'an API token' },
  { path: 'service-keys', kind: 'service_key', pattern: RECORD_ID_PATTERN, what: 'a service-account key' },
  { path: 'apps', kind: 'app', pattern: '^[A-Za-z0-9_-]{1,64}$', what: 'an app (every session made through it)' },
  { path: 'accounts', kind: 'account', pattern: RECORD_ID_PATTERN, what: 'an account (expiry rules for its new API tokens and keys)' },
];

/** Admin routes: GET, PUT and DELETE `/api/admin/<subjects>/:id/policy` (`policies:read` / `policies:write`). */
export async function registerAdminPolicies(app: HttpApp, core: Core): Promise<void> {
  for (const s of SUBJECTS) {
    const Params = Type.Object({ id: Type.String({ pattern: s.pattern }) }, Strict);
    const url = `/api/admin/${s.path}/:id/policy`;
    app.get(url, adminRoute('policies:read', { summary: `The rules of ${s.what}`, params: Params, response: readResponses(PolicyView, ['not_found', 'too_many_attempts']) }), async (request, reply) => {
      const ref = await core.policies.resolve(s.kind, request.params.id);
      if (!ref) return notFound(reply);
      return view(ref, await core.policies.get(ref));
    });
    app.put(
      url,
      adminRoute('policies:write', {
        summary: `Set (replace) the rules of ${s.what}; a bad rule is 400 naming the field, and nothing is stored`,
        params: Params,
        body: AdminPolicyBody,
        response: writeResponses(200, PolicyView, ['not_found', 'too_many_attempts']),
      }),
      async (request, reply) => {
        const ref = await core.policies.resolve(s.kind, request.params.id);
        if (!ref) return notFound(reply);
        return view(ref, await core.policies.put(ref, request.body, consoleContext(request)));
      },
    );
    app.delete(url, adminRoute('policies:write', { summary: `Remove every rule of ${s.what}`, params: Params, response: writeResponses(200, Removed, ['not_found', 'too_many_attempts']) }), async (request, reply) => {
      const ref = await core.policies.resolve(s.kind, request.params.id);
      if (!ref) return notFound(reply);
      return { removed: await core.policies.remove(ref, consoleContext(request)) };
    });
  }
}

/** Cabinet routes: the signed-in account's own API tokens. */
export async function registerCabinetPolicies(app: HttpApp, core: Core): Promise<void> {
  const Params = Type.Object({ id: Type.String({ pattern: '^[0-9a-fA-F-]{1,64}$' }) }, Strict);
  const url = '/api/cabinet/api-tokens/:id/policy';
  app.get(url, { schema: { tags: ['cabinet'], summary: 'The rules of one of the account\'s API tokens', params: Params, response: readResponses(PolicyView, ['not_found']) } }, async (request, reply) => {
    const ref = await core.policies.resolve('api_token', request.params.id, { accountId: accountOf(request).id });
    if (!ref) return notFound(reply);
    return view(ref, await core.policies.get(ref));
  });
  app.put(
    url,
    {
      schema: {
        tags: ['cabinet'],
        summary: 'Set the rate limits, allow-list and scopes of one of the account\'s API tokens (credits stay as the operator set them)',
        params: Params,
        body: CabinetPolicyBody,
        response: writeResponses(200, PolicyView, ['not_found']),
      },
    },
    async (request, reply) => {
      const ref = await core.policies.resolve('api_token', request.params.id, { accountId: accountOf(request).id });
      if (!ref) return notFound(reply);
      const current = await core.policies.get(ref);
      // An exact window writes to the database on every check: the operator's to grant. A customer
      // may keep one the operator set (sent back as it was), never make one.
      const granted = current?.rules.rateLimits.filter((w) => w.exact) ?? [];
      const bad = (request.body.rateLimits ?? []).findIndex((w) => w.exact && !granted.some((g) => g.limit === w.limit && g.windowSeconds === w.windowSeconds));
      if (bad >= 0) return sendWire(reply, nativeError('validation_failed', { fields: [{ name: `rateLimits[${bad}].exact`, code: 'operator_only', message: 'only the operator can make a window exact' }] }));
      const credits = current?.rules.credits ? { ...current.rules.credits, remaining: current.creditsLeft ?? current.rules.credits.remaining } : null;
      return view(ref, await core.policies.put(ref, { ...request.body, credits }, consoleContext(request)));
    },
  );
}
