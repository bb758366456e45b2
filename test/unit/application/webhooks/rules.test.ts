import { describe, expect, it } from 'vitest';
import { autoDisable, formatDuration } from '../../../../src/application/webhooks/auto-disable.js';
import { signingSecrets } from '../../../../src/application/webhooks/secret-rotation.js';

const DAY = 86_400_000;
const now = new Date('2026-12-02T12:00:00.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms);

describe('signingSecrets', () => {
  const expiresAt = new Date('2026-12-03T12:00:00.000Z');
  const rotated = { current: 'whsec_new', previous: { secret: 'whsec_old', expiresAt } };

  it('is the current secret alone when the endpoint was never rotated', () => {
    expect(signingSecrets({ current: 'whsec_only', previous: null }, now)).toEqual(['whsec_only']);
  });

  it('adds the previous secret, after the current one, until the overlap ends', () => {
    expect(signingSecrets(rotated, now)).toEqual(['whsec_new', 'whsec_old']);
    expect(signingSecrets(rotated, new Date(expiresAt.getTime() - 1))).toEqual(['whsec_new', 'whsec_old']);
  });

  it('drops the previous secret from the moment it expires', () => {
    expect(signingSecrets(rotated, expiresAt)).toEqual(['whsec_new']);
    expect(signingSecrets(rotated, new Date(expiresAt.getTime() + DAY))).toEqual(['whsec_new']);
  });
});

describe('autoDisable (WEBHOOK_DISABLE_AFTER)', () => {
  it('does not apply while the endpoint has no failing streak', () => {
    expect(autoDisable(null, now, 5 * DAY)).toBeNull();
  });

  it('does not apply while the streak is younger than the limit', () => {
    expect(autoDisable(ago(5 * DAY - 1), now, 5 * DAY)).toBeNull();
    expect(autoDisable(now, now, 5 * DAY)).toBeNull();
  });

  it('applies once every attempt has failed for the limit, with the reason and the cut-off', () => {
    const since = ago(5 * DAY);
    expect(autoDisable(since, now, 5 * DAY)).toEqual({
      reason: 'every attempt failed for 5d or more, since 2026-11-27T12:00:00.000Z (WEBHOOK_DISABLE_AFTER)',
      ifFailingSinceBy: since,
    });
    expect(autoDisable(ago(30 * DAY), now, 5 * DAY)?.ifFailingSinceBy).toEqual(ago(5 * DAY));
  });

  it('works with short limits, as tests and small deployments set them', () => {
    expect(autoDisable(ago(1999), now, 2000)).toBeNull();
    expect(autoDisable(ago(2000), now, 2000)?.reason).toMatch(/^every attempt failed for 2s or more/);
  });

  it.each([
    [5 * DAY, '5d'],
    [36 * 3_600_000, '36h'],
    [90_000, '90s'],
    [30 * 60_000, '30m'],
    [1500, '1500ms'],
  ])('writes %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
