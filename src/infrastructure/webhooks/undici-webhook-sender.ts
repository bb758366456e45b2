import { Agent, request } from 'undici';
import type { WebhookRequest, WebhookResponse, WebhookSender } from '../../application/webhooks/ports.js';
import { webhookHeaders } from './signing.js';
import { UnsafeUrlError, checkUrlTarget, guardedLookup, type LookupAll } from './ssrf.js';

export interface UndiciWebhookSenderOptions {
  /** WEBHOOK_ALLOW_PRIVATE: let deliveries reach loopback and private addresses (development, tests). */
  allowPrivate: boolean;
  /** Budget of one attempt, from connecting to the end of the (capped) response. Default 10 000 ms. */
  timeoutMs?: number;
  /** Budget of the TCP (and TLS) connection. Default 5 000 ms, and never more than `timeoutMs`. */
  connectTimeoutMs?: number;
  /** Bytes of the response body read at most; the rest is abandoned with the connection. Default 64 KiB. */
  maxResponseBytes?: number;
  /** Host name resolution (the SSRF guard checks its answers); the system resolver by default. */
  lookup?: LookupAll;
  userAgent?: string;
}

/** How much of a failed answer's body is kept in the attempt's error, for the operator. */
const ERROR_SNIPPET_CHARS = 200;

/**
 * POSTs webhook deliveries with undici through an Agent of its own: Standard Webhooks headers,
 * an overall timeout, no redirects (undici's `request` follows none: a 3xx is a failed
 * attempt, so a receiver cannot bounce us to an internal address), a cap on the response body
 * read, and the SSRF guard at connect time. It never throws for a failed attempt: it answers
 * what happened.
 */
export class UndiciWebhookSender implements WebhookSender {
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly allowPrivate: boolean;
  private readonly userAgent: string;

  constructor(options: UndiciWebhookSenderOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 64 * 1024;
    this.allowPrivate = options.allowPrivate;
    this.userAgent = options.userAgent ?? 'conveyor-webhooks/1';
    this.agent = new Agent({
      connect: {
        timeout: Math.min(options.connectTimeoutMs ?? 5_000, this.timeoutMs),
        lookup: guardedLookup({ allowPrivate: options.allowPrivate, lookup: options.lookup }),
      },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      // Idle connections to a receiver are reused for a few seconds, then dropped.
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 30_000,
    });
  }

  async send(webhook: WebhookRequest): Promise<WebhookResponse> {
    const started = performance.now();
    const result = (statusCode: number | null, error: string | null): WebhookResponse => ({
      statusCode,
      durationMs: Math.round(performance.now() - started),
      error,
    });
    try {
      // IP-literal hosts never go through the connect-time lookup: check them here.
      checkUrlTarget(webhook.url, { allowPrivate: this.allowPrivate });
    } catch (error) {
      if (error instanceof UnsafeUrlError) return result(null, `refused by the SSRF guard: ${error.reason}`);
      throw error;
    }
    const signal = AbortSignal.timeout(this.timeoutMs);
    let statusCode: number;
    let head: string;
    let location: string | undefined;
    try {
      const response = await request(webhook.url, {
        method: 'POST',
        dispatcher: this.agent,
        signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': this.userAgent,
          ...webhookHeaders(webhook.secrets, { id: webhook.deliveryId, timestamp: webhook.timestamp, body: webhook.body }),
        },
        body: webhook.body,
      });
      statusCode = response.statusCode;
      const header = response.headers.location;
      location = Array.isArray(header) ? header[0] : header;
      head = await readCapped(response.body, this.maxResponseBytes);
    } catch (error) {
      return result(null, describe(error, this.timeoutMs));
    }
    if (statusCode >= 200 && statusCode < 300) return result(statusCode, null);
    if (statusCode >= 300 && statusCode < 400) {
      return result(statusCode, `redirect ${statusCode} not followed${location ? ` (location: ${location.slice(0, ERROR_SNIPPET_CHARS)})` : ''}`);
    }
    const snippet = head.replace(/\s+/g, ' ').trim().slice(0, ERROR_SNIPPET_CHARS);
    return result(statusCode, `HTTP ${statusCode}${snippet ? `: ${snippet}` : ''}`);
  }

  /** Closes the pooled connections (graceful shutdown). */
  close(): Promise<void> {
    return this.agent.close();
  }
}

/**
 * Reads at most `max` bytes of the body, then abandons the rest (which closes the connection:
 * a receiver cannot make us download 10 MB). The status is the answer, so a body that fails or
 * times out half-way only shortens what is returned.
 */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= max) break;
    }
  } catch {
    // The status line is what counts; keep what arrived.
  } finally {
    // Leaving the loop early destroys the stream already; be explicit for the other paths.
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof UnsafeUrlError) return `refused by the SSRF guard: ${error.reason}`;
  const err = error as (Error & { code?: string; errors?: unknown[]; cause?: unknown }) | undefined;
  if (!err || typeof err !== 'object') return String(error);
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  switch (err.code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `timed out after ${timeoutMs} ms`;
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect timeout';
    case 'ERR_WEBHOOK_ADDRESS_NOT_ALLOWED':
      return `refused by the SSRF guard: ${err.message}`;
  }
  // With several addresses, Node's happy-eyeballs connect fails with an AggregateError.
  const inner = err.errors?.[0] ?? err.cause;
  if (!err.code && inner && inner !== error) return describe(inner, timeoutMs);
  return err.code ? `${err.code}: ${err.message}` : err.message;
}
