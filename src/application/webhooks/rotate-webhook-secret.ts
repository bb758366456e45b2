import type { Clock } from '../clock.js';
import { WebhookEndpointNotFoundError } from './errors.js';
import type { WebhookEndpointRepository } from './ports.js';

/** How long deliveries are signed with the previous secret after a rotation, unless configured. */
export const DEFAULT_SECRET_OVERLAP_MS = 24 * 3600 * 1000;

export interface RotatedWebhookSecret {
  id: string;
  /** The new `whsec_…` secret: returned here once and never again. */
  secret: string;
  /** Until when deliveries carry a signature with the previous secret too. */
  previousSecretExpiresAt: Date;
}

/**
 * Gives an endpoint a new signing secret.
 * - the endpoint must exist and not be deleted (`webhook_endpoint_not_found`); a disabled one
 *   may be rotated (before it is enabled again, say);
 * - the new secret is generated here and shown only in this answer;
 * - for `overlapMs` after the rotation (WEBHOOK_SECRET_OVERLAP, 24 h by default) every attempt
 *   is signed with the new and the previous secret (two `v1,` entries in `webhook-signature`),
 *   so a receiver that knows either verifies it and can switch without losing a message; after
 *   that, with the new one only;
 * - rotating again drops the oldest secret: only the last two are ever used, and the overlap
 *   runs from the latest rotation.
 */
export class RotateWebhookSecret {
  constructor(
    private readonly endpoints: WebhookEndpointRepository,
    private readonly generateSecret: () => string,
    private readonly clock: Clock,
    private readonly overlapMs: number = DEFAULT_SECRET_OVERLAP_MS,
  ) {}

  async execute(endpointId: string): Promise<RotatedWebhookSecret> {
    const secret = this.generateSecret();
    const previousSecretExpiresAt = new Date(this.clock.now().getTime() + this.overlapMs);
    if (!(await this.endpoints.rotateSecret(endpointId, secret, previousSecretExpiresAt))) {
      throw new WebhookEndpointNotFoundError(endpointId);
    }
    return { id: endpointId, secret, previousSecretExpiresAt };
  }
}
