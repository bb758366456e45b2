import { InvalidDeliveryRateError } from './errors.js';

// How fast deliveries go to one endpoint (docs/adr/0013-webhook-delivery-rate.md): at most its
// rate per second, on average, across every webhooks process.

/** The lowest rate an endpoint may have: one delivery every 100 s. */
export const MIN_DELIVERY_RATE = 0.01;
/** The highest: one every millisecond, the resolution the limiter keeps time in. */
export const MAX_DELIVERY_RATE = 1000;

/** Returns the rate, or throws `invalid_delivery_rate`. */
export function validateDeliveryRate(perSecond: number): number {
  if (!Number.isFinite(perSecond) || perSecond < MIN_DELIVERY_RATE || perSecond > MAX_DELIVERY_RATE) {
    throw new InvalidDeliveryRateError(
      `deliveryRate must be a number of deliveries per second from ${MIN_DELIVERY_RATE} to ${MAX_DELIVERY_RATE}`,
    );
  }
  return perSecond;
}

/**
 * The time between two deliveries to an endpoint at `perSecond`, in whole milliseconds,
 * rounded up so the rate is never exceeded.
 */
export function deliveryIntervalMs(perSecond: number): number {
  return Math.max(1, Math.ceil(1000 / perSecond));
}

/**
 * How far ahead of its schedule a delivery may go, in ms: one interval, and at least 100 ms.
 * Workers take jobs in bunches and a delayed job wakes a few milliseconds late; without this
 * slack every such wobble would send a delivery back to wait. It allows a burst of
 * max(2, rate / 10 + 1) deliveries after a quiet spell, never more on average.
 */
export function deliveryToleranceMs(perSecond: number): number {
  return Math.max(deliveryIntervalMs(perSecond), 100);
}
