import { v5 as uuidv5 } from 'uuid';

// Ids the platform derives instead of drawing: the same inputs always give the same UUID
// (version 5, SHA-1 in conveyor's own namespace), so work that is scheduled twice — an outbox
// event relayed again, a scheduler job delivered again — names the same command, and the
// queue (job id = command id) and the unit of work (processed_commands) make it one.

/** conveyor's UUID namespace (a fixed random UUID): derived ids never collide with another system's. */
const CONVEYOR_NAMESPACE = '269b198f-0a99-40b8-a000-e659227238e1';

/** The UUID derived from `parts` (joined with "/"). */
export function derivedId(...parts: string[]): string {
  return uuidv5(parts.join('/'), CONVEYOR_NAMESPACE);
}

/** The command id of the expiry of `orderId`: one ExpireOrder per order, however often it is scheduled. */
export function expireOrderCommandId(orderId: string): string {
  return derivedId('ExpireOrder', orderId);
}
