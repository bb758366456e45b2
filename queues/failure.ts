import type { DomainError } from '../src/domain/index.js';

// How a job that fails for good says why. BullMQ keeps one string per failed job
// (`failedReason`, the message of the error the processor threw); the workers write it with
// `encodeFailure` and whoever reads it (the command status route, through the queue adapter)
// reads it back with `decodeFailure`. The wire format is `"<code>: <message>"`, which jobs
// already in Redis carry too.

/** The codes the processors write themselves, beside the `code` of a domain error. */
export const PROCESSOR_FAILURE_CODES = [
  /** The job name is no command type. */
  'unknown_command',
  /** The payload does not match the queue's schema. */
  'invalid_payload',
  /** The email's template cannot render its event. */
  'render_failed',
  /** The SMTP server refused the email for good (5xx). */
  'smtp_rejected',
  /** The SMTP server failed temporarily (4xx, lost connection); the job is retried. */
  'smtp_temporary',
  /** The webhook endpoint answered 410 Gone and is disabled. */
  'endpoint_gone',
  /** The webhook delivery failed after its last scheduled attempt. */
  'delivery_failed',
] as const;

export type ProcessorFailureCode = (typeof PROCESSOR_FAILURE_CODES)[number];
/**
 * A failure code: one of the processors' own, or a domain error's (snake_case, e.g.
 * `insufficient_stock`). Domain codes are open (`${entity}_not_found`), so the union is as wide
 * as `string` to the compiler; it is spelled out to say where codes come from.
 */
// eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents
export type FailureCode = ProcessorFailureCode | DomainError['code'];

export interface Failure<C extends string = FailureCode> {
  code: C;
  message: string;
}

/** A code is snake_case ASCII starting with a letter: what every DomainError code and ours are. */
const CODE = /^[a-z][a-z0-9_]*$/;
const SEPARATOR = ': ';

/** The failure reason to throw (as the error's message) for `failure`. */
export function encodeFailure(failure: Failure): string {
  if (!CODE.test(failure.code)) throw new TypeError(`not a failure code: "${failure.code}"`);
  return `${failure.code}${SEPARATOR}${failure.message}`;
}

/**
 * The failure that `encodeFailure` wrote, or null for any other reason (an infrastructure
 * error's own message, such as "Connection is closed.").
 */
export function decodeFailure(reason: string): Failure<string> | null {
  const at = reason.indexOf(SEPARATOR);
  if (at < 0) return null;
  const code = reason.slice(0, at);
  return CODE.test(code) ? { code, message: reason.slice(at + SEPARATOR.length) } : null;
}
