import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { InvalidScheduleError, ScheduleNotFoundError } from '../application/scheduling/errors.js';
import type { EmailNotFoundError, EmailPendingError } from '../application/email/errors.js';
import type {
  InvalidDeliveryRateError,
  InvalidEventTypesError,
  InvalidWebhookUrlError,
  WebhookDeliveryNotFoundError,
  WebhookDeliveryInProgressError,
  WebhookEndpointDisabledError,
  WebhookEndpointNotFoundError,
  WebhookUrlNotAllowedError,
} from '../application/webhooks/errors.js';
import type { CommandNotCancellableError, CommandNotFoundError } from '../application/commerce/errors.js';
import { DomainError } from '../domain/index.js';
import { isTransient } from '../infrastructure/errors.js';

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

/** 404 for a `what` (command, order, product) the read side does not know. */
export function notFound(request: FastifyRequest, reply: FastifyReply, what: string, id: string): FastifyReply {
  return sendProblem(request, reply, { status: 404, detail: `There is no ${what} ${id}.` });
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

/** The errors the webhook, schedule and email use cases raise on the request itself (the API runs them synchronously). */
type RequestErrorCode = (
  | ScheduleNotFoundError
  | InvalidScheduleError
  | WebhookEndpointNotFoundError
  | WebhookDeliveryNotFoundError
  | InvalidWebhookUrlError
  | WebhookUrlNotAllowedError
  | InvalidEventTypesError
  | InvalidDeliveryRateError
  | WebhookEndpointDisabledError
  | WebhookDeliveryInProgressError
  | EmailNotFoundError
  | EmailPendingError
  | CommandNotFoundError
  | CommandNotCancellableError
)['code'];

export interface ErrorStatus {
  status: number;
  /** The body field the error is about, named in `errors` as a validation error would. */
  field?: string;
}

/**
 * The HTTP status of each error code a request itself can raise (a missing entry is a compile
 * error). Every other domain error is a command the domain refuses: 422.
 */
export const ERROR_STATUS: { readonly [C in RequestErrorCode]: ErrorStatus } = {
  webhook_endpoint_not_found: { status: 404 },
  webhook_delivery_not_found: { status: 404 },
  invalid_webhook_url: { status: 400, field: 'url' },
  webhook_url_not_allowed: { status: 400, field: 'url' },
  invalid_event_types: { status: 400, field: 'eventTypes' },
  invalid_delivery_rate: { status: 400, field: 'deliveryRate' },
  webhook_endpoint_disabled: { status: 409 },
  webhook_delivery_in_progress: { status: 409 },
  schedule_not_found: { status: 404 },
  invalid_schedule: { status: 400 },
  email_not_found: { status: 404 },
  email_pending: { status: 409 },
  command_not_found: { status: 404 },
  command_not_cancellable: { status: 409 },
};

const REFUSED: ErrorStatus = { status: 422 };

/** The status of a domain error, by its code. */
export function domainErrorStatus(error: DomainError): ErrorStatus {
  return Object.hasOwn(ERROR_STATUS, error.code) ? ERROR_STATUS[error.code as RequestErrorCode] : REFUSED;
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
  if (isTransient(error)) {
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

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(request, reply, {
    status: 404,
    detail: `There is no route ${request.method} ${request.url.split('?', 1)[0]}.`,
  });
}
