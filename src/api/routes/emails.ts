import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EmailManagement } from '../../application/email/management.js';
import type { EmailLogEntry } from '../../application/email/ports.js';
import { encodeCursor } from '../cursor.js';
import { problemResponses } from '../problem.js';
import { BEARER_SECURITY, emailListDto, emailsQuery, resendAcceptedDto, uuidParam } from '../schemas.js';

export interface EmailRoutesOptions {
  emails: EmailManagement;
}

const TAGS = ['emails'];

/**
 * What became of the emails, and sending one again (docs/design.md §3): synchronous, straight to
 * the use cases; their errors (unknown email, email still pending) are mapped by the app's
 * error handler.
 */
export const emailRoutes: FastifyPluginAsyncZod<EmailRoutesOptions> = async (app, options) => {
  const { emails } = options;

  app.get(
    '/v1/emails',
    {
      schema: {
        summary: 'List emails',
        description:
          'Newest first, with recipient, subject, template, status, attempts and the last SMTP answer; never the body. ' +
          'Pages are cut by an opaque cursor (keyset), so emails created while paging neither repeat nor shift a page.',
        tags: TAGS,
        security: BEARER_SECURITY,
        querystring: emailsQuery,
        response: { 200: emailListDto, ...problemResponses(400, 401) },
      },
    },
    async (request) => {
      const { status, to, since, cursor, limit } = request.query;
      const page = await emails.listEmails.execute({
        status,
        to,
        since: since === undefined ? undefined : new Date(since),
        after: cursor,
        limit,
      });
      return { items: page.items.map(emailJson), nextCursor: page.next ? encodeCursor(page.next) : null };
    },
  );

  app.post(
    '/v1/emails/:id/resend',
    {
      schema: {
        summary: 'Send an email again',
        description:
          'A sent or failed email becomes pending and is queued again; it is rendered from its event and sent with ' +
          'the same Message-ID, so a mail client that has the first copy shows one message. 404 for an unknown ' +
          'email; 409 (code email_pending) while it is still pending: it goes out without a resend.',
        tags: TAGS,
        security: BEARER_SECURITY,
        params: z.object({ id: uuidParam() }),
        response: { 202: resendAcceptedDto, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      await emails.resendEmail.execute(request.params.id);
      return reply.code(202).send({ emailId: request.params.id, status: 'pending' as const });
    },
  );
};

function emailJson(email: EmailLogEntry) {
  return {
    ...email,
    createdAt: email.createdAt.toISOString(),
    sentAt: email.sentAt?.toISOString() ?? null,
    finishedAt: email.finishedAt?.toISOString() ?? null,
    nextAttemptAt: email.nextAttemptAt?.toISOString() ?? null,
  };
}
