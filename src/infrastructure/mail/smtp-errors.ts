import type { NodemailerError } from 'nodemailer';

export interface SendFailure {
  /** temporary: the same message may be accepted later (retry); permanent: it never will. */
  kind: 'temporary' | 'permanent';
  /** The SMTP reply when there was one ("550 5.1.1 <x@y>: no such user"), else code and message. */
  response: string;
  responseCode: number | undefined;
}

// Failures of our own set-up (credentials, TLS, configuration). A 535 answer to AUTH is a 5xx
// code, but it refuses us, not this message: once an operator fixes it every message can go,
// so these are retried rather than failing the email for good.
const SETUP_CODES: ReadonlySet<string> = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2', 'ECONFIG', 'ETLS', 'EREQUIRETLS', 'EPROXY']);

// Refused before any server reply: no usable recipient, or a message that cannot be built.
const MESSAGE_CODES: ReadonlySet<string> = new Set(['EENVELOPE', 'EMESSAGE']);

/**
 * Tells a temporary SMTP failure from a permanent one, following RFC 5321 reply classes:
 * 4yz is transient, 5yz permanent, except 503 (bad sequence: the session was in the wrong
 * state, a new connection may succeed). Errors without a reply (connection refused or lost,
 * timeouts, DNS) are temporary.
 */
export function classifySendError(error: unknown): SendFailure {
  const details: Partial<NodemailerError> = typeof error === 'object' && error !== null ? error : {};
  const code = typeof details.code === 'string' ? details.code : undefined;
  const responseCode = typeof details.responseCode === 'number' ? details.responseCode : undefined;
  const response = describeSendError(error);
  const failure = (kind: SendFailure['kind']): SendFailure => ({ kind, response, responseCode });

  if (code !== undefined && SETUP_CODES.has(code)) return failure('temporary');
  if (responseCode !== undefined) {
    return failure(responseCode >= 500 && responseCode < 600 && responseCode !== 503 ? 'permanent' : 'temporary');
  }
  if (code !== undefined && MESSAGE_CODES.has(code)) return failure('permanent');
  return failure('temporary');
}

const MAX_RESPONSE_LENGTH = 1000;

/** The text recorded as last_response: the server's reply if any, else the error code and message. */
export function describeSendError(error: unknown): string {
  let text: string;
  if (typeof error === 'object' && error !== null) {
    const { response, code, message } = error as Partial<NodemailerError>;
    if (typeof response === 'string' && response.length > 0) text = response;
    else text = [typeof code === 'string' ? code : undefined, typeof message === 'string' ? message : undefined].filter(Boolean).join(': ');
  } else {
    text = String(error);
  }
  text = text.replace(/\s+/g, ' ').trim() || 'unknown error';
  return text.length > MAX_RESPONSE_LENGTH ? `${text.slice(0, MAX_RESPONSE_LENGTH - 1)}…` : text;
}
