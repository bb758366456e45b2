import type { SigningSecrets } from './ports.js';

/**
 * The secrets an attempt made at `at` is signed with: the endpoint's current secret and, while
 * the overlap after a rotation lasts (until `previous.expiresAt`, exclusive), the previous one
 * too, so that a receiver still verifying with the old secret loses no message while it
 * switches (Standard Webhooks lets `webhook-signature` carry several signatures).
 */
export function signingSecrets(secrets: SigningSecrets, at: Date): string[] {
  const { current, previous } = secrets;
  return previous !== null && previous.expiresAt.getTime() > at.getTime() ? [current, previous.secret] : [current];
}
