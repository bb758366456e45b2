/**
 * The expiry rule (docs/adr/0020-order-expiry-sweep.md): an order still pending `timeoutMs`
 * after it was placed is expired. Returns the latest placing time that is overdue at `now`:
 * every pending order placed at or before it is due its ExpireOrder. None when expiry is off
 * (`timeoutMs` 0). Whether the order is still pending is decided again when the command runs
 * (`Order.expire`).
 */
export function expiryCutoff(now: Date, timeoutMs: number): Date | null {
  if (timeoutMs <= 0) return null;
  return new Date(now.getTime() - timeoutMs);
}
