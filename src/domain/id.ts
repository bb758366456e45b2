import { InvalidValueError } from './errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Aggregate ids are UUIDv7 strings assigned at intake (so a client can follow up at once);
 * the domain only checks their shape.
 */
export function assertId(value: string, what = 'id'): string {
  if (!UUID.test(value)) throw new InvalidValueError(`${what} must be a lower-case UUID, got "${value}"`);
  return value;
}
