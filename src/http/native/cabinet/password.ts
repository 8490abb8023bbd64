/**
 * Passwords in the cabinet: a signed-in account changes its own (the current one checked under the
 * login limits; its other console sign-ins end), and anyone holding a one-time reset link from the
 * operator sets a new one (`POST /api/admin/accounts/:id/password-reset` makes the link; its token
 * travels in the URL fragment and reaches tokend only in this request's body).
 */
import { Type } from '@sinclair/typebox';
import type { Core } from '../../../core/tokend.ts';
import { sendWire, type HttpApp } from '../../dialect.ts';
import { authOf, consoleContext, fromOwnOrigin, SIGN_IN_FAILURES } from '../console-auth.ts';
import { writeResponses } from '../console-responses.ts';
import { nativeError } from '../envelope.ts';

const Strict = { additionalProperties: false } as const;
const ChangeBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
    newPassword: Type.String({ minLength: 1, maxLength: 1024, description: '8 to 1024 characters.' }),
  },
  Strict,
);
const ResetBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 4096, description: 'The `token` of the reset link\'s fragment (`tdw_…`).' }),
    password: Type.String({ minLength: 1, maxLength: 1024, description: 'The new password, 8 to 1024 characters.' }),
  },
  Strict,
);
const Changed = Type.Object({ passwordChanged: Type.Literal(true) });
const Reset = Type.Object({ passwordReset: Type.Literal(true) });

/** `POST /api/cabinet/password-reset`: no sign-in (the link is the credential). */
export async function registerCabinetPasswordReset(app: HttpApp, core: Core): Promise<void> {
  app.post(
    '/api/cabinet/password-reset',
    {
      schema: {
        tags: ['cabinet'],
        summary: 'Set a new password with a one-time reset link from the operator; the account\'s console sign-ins end',
        body: ResetBody,
        response: writeResponses(200, Reset, ['invalid_reset_token', 'too_many_attempts']),
      },
    },
    async (request, reply) => {
      if (!fromOwnOrigin(request)) return sendWire(reply, nativeError('csrf_failed'));
      const outcome = await core.accounts.resetPassword(request.body.token.trim(), request.body.password, consoleContext(request));
      if (!outcome.ok) {
        const extra = outcome.retryAfterSeconds !== undefined ? { retryAfterSeconds: outcome.retryAfterSeconds } : {};
        return sendWire(reply, nativeError(outcome.code, extra));
      }
      return { passwordReset: true as const };
    },
  );
}

/** `PUT /api/cabinet/password`: behind the cabinet sign-in. */
export async function registerCabinetPassword(authed: HttpApp, core: Core): Promise<void> {
  authed.put(
    '/api/cabinet/password',
    {
      schema: {
        tags: ['cabinet'],
        summary: 'Change the account\'s password; its other console sign-ins end, this one stays',
        body: ChangeBody,
        response: writeResponses(200, Changed, ['invalid_credentials', 'too_many_attempts', 'account_disabled']),
      },
    },
    async (request, reply) => {
      const signedIn = authOf(request)!;
      const account = signedIn.auth.account!;
      const outcome = await core.accounts.changePassword(
        account,
        { currentPassword: request.body.currentPassword, newPassword: request.body.newPassword, keepSignIn: signedIn.auth.session.id },
        consoleContext(request),
      );
      if (!outcome.ok) {
        const extra = outcome.retryAfterSeconds !== undefined ? { retryAfterSeconds: outcome.retryAfterSeconds } : {};
        return sendWire(reply, nativeError(SIGN_IN_FAILURES[outcome.code], extra));
      }
      return { passwordChanged: true as const };
    },
  );
}
