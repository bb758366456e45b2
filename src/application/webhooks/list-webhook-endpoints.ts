import type { WebhookEndpoint, WebhookEndpointRepository } from './ports.js';

export type WebhookEndpointDto = Omit<WebhookEndpoint, 'deletedAt'>;

/** The endpoints that are not deleted, oldest first; secrets are never listed. */
export class ListWebhookEndpoints {
  constructor(private readonly endpoints: WebhookEndpointRepository) {}

  async execute(): Promise<WebhookEndpointDto[]> {
    return (await this.endpoints.list()).map(toDto);
  }
}

export function toDto({ deletedAt: _deletedAt, ...endpoint }: WebhookEndpoint): WebhookEndpointDto {
  return endpoint;
}
