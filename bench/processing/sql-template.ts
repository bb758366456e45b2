import { uuidv7 } from '../../src/infrastructure/ids.js';
import type { CapturedStatement } from './capture.js';

/** The ids a captured PlaceOrder was run with. */
export interface CapturedInput {
  commandId: string;
  orderId: string;
  userId: string;
  items: { productId: string; quantity: number }[];
}

/** The ids of one replayed transaction: the same roles as the captured ones. */
export interface ReplayIds {
  commandId: string;
  orderId: string;
  userId: string;
  /** Product ids; ordered like the captured ones after sorting (the ORM sorts them to lock). */
  productIds: string[];
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const ISO_TIMESTAMP = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g;

/**
 * Turns the statements of one captured unit of work into statements for other ids. MikroORM
 * inlines values into the SQL text, so the text is rewritten: each captured id becomes the id
 * of the same role, any other UUID (an outbox row id) a fresh UUIDv7, each timestamp now.
 */
export function sqlTemplate(statements: readonly CapturedStatement[], input: CapturedInput) {
  const products = input.items.map((item) => item.productId).sort();
  for (const statement of statements) {
    if (statement.values.length > 0) throw new Error(`captured statement has bound parameters; the template expects inlined values: ${statement.text}`);
  }
  return (ids: ReplayIds): string[] => {
    const known = new Map<string, string>([
      [input.commandId, ids.commandId],
      [input.orderId, ids.orderId],
      [input.userId, ids.userId],
    ]);
    const sortedNew = [...ids.productIds].sort();
    products.forEach((id, i) => known.set(id, sortedNew[i] ?? id));
    const now = new Date().toISOString();
    return statements.map((statement) =>
      statement.text
        .replace(UUID, (uuid) => {
          let mapped = known.get(uuid);
          if (mapped === undefined) {
            mapped = uuidv7();
            known.set(uuid, mapped);
          }
          return mapped;
        })
        .replace(ISO_TIMESTAMP, now),
    );
  };
}
