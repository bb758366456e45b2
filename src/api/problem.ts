import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  InvalidEventTypesError,
  InvalidWebhookUrlError,
  WebhookDeliveryNotFoundError,
  WebhookDeliveryInProgressError,
  WebhookEndpointDisabledError,
  WebhookEndpointNotFoundError,
  WebhookUrlNotAllowedError,
} from '../application/webhooks/errors.js';
import { DomainError } from '../domain/index.js';

// RFC 9457 problem details: every error this API answers has this shape and media type.

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** `type` of problems that say more than their status code does (RFC 9457 §4.2: "about:blank" otherwise). */
export function problemType(slug: string): string {
  return `urn:conveyor:problem:${slug}`;
}

export const fieldErrorSchema = z.object({
  in: z.enum(['body', 'params', 'querystring', 'headers']).describe('which part of the request'),
  path: z.string().describe('dotted path of the offending field, e.g. "items.0.quantity"; "" for the whole part'),
  message: z.string(),
});

export const problemSchema = z
  .looseObject({
    type: z.string().describe('URI of the problem type; "about:blank" when the status says it all'),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    instance: z.string().optional().describe('the request path'),
    code: z.string().optional().describe('stable machine-readable code, for domain errors'),
    errors: z.array(fieldErrorSchema).optional().describe('every offending field of an invalid request'),
  })
  .describe('RFC 9457 problem details');

export type FieldError = z.infer<typeof fieldErrorSchema>;
export type Problem = z.infer<typeof problemSchema>;

export interface ProblemInit {
  status: number;
  detail: string;
  type?: string;
  title?: string;
  code?: string;
  errors?: FieldError[];
  /** Extension members (RFC 9457 §3.2). */
  extensions?: Record<string, unknown>;
}

/** Route response entries documenting problem answers for the given status codes. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: STATUS_CODES[status] ?? 'Error', content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } } },
    ]),
  );
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  init: ProblemInit,
  headers: Record<string, string> = {},
): FastifyReply {
  const body: Problem = {
    ...init.extensions,
    type: init.type ?? 'about:blank',
    title: init.title ?? STATUS_CODES[init.status] ?? 'Error',
    status: init.status,
    detail: init.detail,
    instance: request.url.split('?', 1)[0],
    ...(init.code === undefined ? {} : { code: init.code }),
    ...(init.errors === undefined ? {} : { errors: init.errors }),
  };
  return reply.code(init.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(body);
}

type Location = FieldError['in'];

interface ValidationIssue {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** One entry per offending path; an unknown key is reported at its own path. */
export function fieldErrors(issues: readonly ValidationIssue[], location: Location): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  const add = (segments: string[], message: string) => {
    const entry = { in: location, path: segments.join('.'), message };
    const id = `${entry.path}\n${message}`;
    if (seen.has(id)) return;
    seen.add(id);
    errors.push(entry);
  };
  for (const issue of issues) {
    const segments = issue.instancePath.split('/').filter((segment) => segment.length > 0);
    const keys = issue.params.keys;
    if (issue.keyword === 'unrecognized_keys' && Array.isArray(keys)) {
      for (const key of keys) add([...segments, String(key)], 'unknown field');
    } else {
      add(segments, issue.message ?? 'invalid value');
    }
  }
  return errors;
}

const LOCATION_LABELS: Record<Location, string> = {
  body: 'request body',
  params: 'path parameters',
  querystring: 'query string',
  headers: 'request headers',
};

/**
 * The status of a domain error: 422 for a command the domain refuses, except the errors of the
 * webhook management use cases, which the API runs synchronously on the request itself. Those
 * about one body field also name it, as a validation error would.
 */
function domainErrorStatus(error: DomainError): { status: number; field?: string } {
  if (error instanceof WebhookEndpointNotFoundError || error instanceof WebhookDeliveryNotFoundError) return { status: 404 };
  if (error instanceof InvalidWebhookUrlError || error instanceof WebhookUrlNotAllowedError) return { status: 400, field: 'url' };
  if (error instanceof InvalidEventTypesError) return { status: 400, field: 'eventTypes' };
  if (error instanceof WebhookEndpointDisabledError || error instanceof WebhookDeliveryInProgressError) return { status: 409 };
  return { status: 422 };
}

/**
 * Maps every error that reaches Fastify to a problem. Client mistakes keep their 4xx status;
 * anything else is logged and answered with a bare 500 that leaks nothing.
 */
export function problemErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const location: Location = error.validationContext ?? 'body';
    return sendProblem(request, reply, {
      status: 400,
      type: problemType('validation-error'),
      title: 'Invalid request',
      detail: `Invalid ${LOCATION_LABELS[location]}: see "errors".`,
      errors: fieldErrors(error.validation, location),
    });
  }
  if (error instanceof DomainError) {
    const { status, field } = domainErrorStatus(error);
    return sendProblem(request, reply, {
      status,
      type: problemType(error.code),
      // RFC 9110's name; Node's STATUS_CODES still has the older "Unprocessable Entity".
      ...(status === 422 ? { title: 'Unprocessable Content' } : {}),
      detail: error.message,
      code: error.code,
      ...(field === undefined ? {} : { errors: [{ in: 'body', path: field, message: error.message }] }),
    });
  }
  const status = error.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    // Fastify's own client errors (malformed JSON, body too large, unsupported media type...)
    // carry messages written for the client.
    return sendProblem(request, reply, { status, detail: error.message });
  }
  if (isDependencyUnavailable(error)) {
    request.log.warn({ err: error }, 'a dependency is unavailable');
    void reply.header('retry-after', '5');
    return sendProblem(request, reply, {
      status: 503,
      type: problemType('service-unavailable'),
      detail: 'A backing service (database or queue) is unavailable; retry later.',
    });
  }
  request.log.error({ err: error }, 'unexpected error');
  return sendProblem(request, reply, { status: 500, detail: 'An unexpected error occurred.' });
}

// Network-level and "server is going away / cannot accept writes" conditions of PostgreSQL
// and Redis: the request was fine, the backing service was not, so the answer is 503.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08001',
  '08003',
  '08006',
  '53300', // too_many_connections
]);
const UNAVAILABLE_MESSAGES =
  /Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|OOM command not allowed|READONLY|Connection terminated|timeout exceeded when trying to connect|the database system is (starting up|shutting down)/i;

export function isDependencyUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 5) return false;
  const { code, name } = error as { code?: unknown; name?: string };
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  if (name === 'ConnectionException' || name === 'MaxRetriesPerRequestError' || name === 'QueueUnavailableError') return true;
  if (UNAVAILABLE_MESSAGES.test(error.message)) return true;
  return isDependencyUnavailable((error as { cause?: unknown }).cause, depth + 1);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(request, reply, {
    status: 404,
    detail: `There is no route ${request.method} ${request.url.split('?', 1)[0]}.`,
  });
}
