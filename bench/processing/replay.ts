import { uuidv7 } from '../../src/infrastructure/ids.js';
import type { Catalog } from '../lib/seed.js';
import type { CapturedStatement } from './capture.js';
import { sqlTemplate, type CapturedInput, type ReplayIds } from './sql-template.js';

/** What a replaying script needs: the captured PlaceOrder (BENCH_CAPTURE) and the catalog (BENCH_CATALOG). */
export interface Replay {
  /** The statements of one PlaceOrder, BEGIN to COMMIT, for these ids. */
  statementsFor(ids: ReplayIds): string[];
  /** Fresh ids: a random user, and as many distinct random products as the captured order had lines. */
  ids(): ReplayIds;
  statementCount: number;
}

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;

export function replayFromEnv(env: NodeJS.ProcessEnv = process.env): Replay {
  const capture = JSON.parse(env.BENCH_CAPTURE ?? '{}') as { statements: CapturedStatement[]; input: CapturedInput };
  const catalog = JSON.parse(env.BENCH_CATALOG ?? '{}') as Catalog;
  const lines = capture.input.items.length;
  if (catalog.productIds.length < lines) throw new Error(`the captured order has ${lines} lines; the catalog only ${catalog.productIds.length} products`);
  return {
    statementsFor: sqlTemplate(capture.statements, capture.input),
    ids() {
      const products = new Set<string>();
      while (products.size < lines) products.add(pick(catalog.productIds));
      return { commandId: uuidv7(), orderId: uuidv7(), userId: pick(catalog.userIds), productIds: [...products] };
    },
    statementCount: capture.statements.length,
  };
}

/** Something that runs SQL text: a pg client, or a queue library's handle on one. */
export interface SqlRunner {
  query(text: string): Promise<unknown>;
}

/** Runs one PlaceOrder's statements on `client` (one connection), rolling back on a failure. */
export async function placeOrder(client: SqlRunner, statements: readonly string[]): Promise<void> {
  try {
    for (const text of statements) await client.query(text);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
