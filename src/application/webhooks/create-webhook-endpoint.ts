import type { Clock } from '../clock.js';
import { validateDeliveryRate } from './delivery-rate.js';
import { InvalidEventTypesError, InvalidWebhookUrlError, WebhookUrlNotAllowedError } from './errors.js';
import { ALL_EVENT_TYPES, WEBHOOK_EVENT_TYPES, isWebhookEventType } from './event-types.js';
import type { NewWebhookEndpoint, WebhookEndpointRepository, WebhookUrlGuard } from './ports.js';

export const MAX_WEBHOOK_URL_LENGTH = 2048;

export interface CreateWebhookEndpointInput {
  url: string;
  eventTypes: string[];
  /** Deliveries per second at most; left out or null: WEBHOOK_DELIVERY_RATE. */
  deliveryRate?: number | null | undefined;
}

/** The endpoint as it was stored; its `secret` (`whsec_…`) is returned here once and never again. */
export type CreatedWebhookEndpoint = NewWebhookEndpoint;

/**
 * Registers a webhook endpoint.
 * - the URL is an absolute http:// or https:// URL of at most 2048 characters, with no
 *   user name or password in it (`invalid_webhook_url`);
 * - it must not point at a loopback, private, link-local or metadata address, checked on every
 *   address its host name resolves to, unless private targets are allowed
 *   (`webhook_url_not_allowed`); the check runs again, on the address connected to, at send time;
 * - eventTypes is a non-empty list of the event types of docs/design.md §4, or exactly ["*"] for
 *   all of them (`invalid_event_types`); duplicates are dropped;
 * - a delivery rate of its own, if given, is from 0.01 to 1000 deliveries per second
 *   (`invalid_delivery_rate`); without one the endpoint follows WEBHOOK_DELIVERY_RATE;
 * - a fresh signing secret is generated and shown only in this answer.
 */
export class CreateWebhookEndpoint {
  constructor(
    private readonly endpoints: WebhookEndpointRepository,
    private readonly urlGuard: WebhookUrlGuard,
    private readonly generateSecret: () => string,
    private readonly newId: () => string,
    private readonly clock: Clock,
  ) {}

  async execute(input: CreateWebhookEndpointInput): Promise<CreatedWebhookEndpoint> {
    const url = parseWebhookUrl(input.url);
    const eventTypes = validateEventTypes(input.eventTypes);
    const deliveryRate = input.deliveryRate == null ? null : validateDeliveryRate(input.deliveryRate);
    await checkUrlAllowed(this.urlGuard, url);
    const endpoint = { id: this.newId(), url, eventTypes, secret: this.generateSecret(), deliveryRate, createdAt: this.clock.now() };
    await this.endpoints.add(endpoint);
    return endpoint;
  }
}

/** Throws `webhook_url_not_allowed` when the SSRF guard refuses the (parsed) URL. */
export async function checkUrlAllowed(urlGuard: WebhookUrlGuard, url: string): Promise<void> {
  const refusal = await urlGuard.refusalFor(url);
  if (refusal !== null) throw new WebhookUrlNotAllowedError(`webhook URL not allowed: ${refusal}`);
}

/** Returns the normalised URL, or throws `invalid_webhook_url`. */
export function parseWebhookUrl(value: string): string {
  if (value.length > MAX_WEBHOOK_URL_LENGTH) {
    throw new InvalidWebhookUrlError(`the URL must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidWebhookUrlError('the URL must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidWebhookUrlError('the URL must start with http:// or https://');
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidWebhookUrlError('the URL must not contain a user name or password');
  }
  return url.href;
}

/** Returns the event types without duplicates, or throws `invalid_event_types`. */
export function validateEventTypes(eventTypes: readonly string[]): string[] {
  const unique = [...new Set(eventTypes)];
  if (unique.length === 0) throw new InvalidEventTypesError('eventTypes must not be empty');
  if (unique.includes(ALL_EVENT_TYPES)) {
    if (unique.length > 1) throw new InvalidEventTypesError('"*" subscribes to every event type and must stand alone');
    return unique;
  }
  const unknown = unique.filter((type) => !isWebhookEventType(type));
  if (unknown.length > 0) {
    throw new InvalidEventTypesError(
      `unknown event types: ${unknown.join(', ')} (known: ${WEBHOOK_EVENT_TYPES.join(', ')}, or "*")`,
    );
  }
  return unique;
}
