import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { uuidv7 } from '../../src/infrastructure/ids.js';
import type { CommandPayload } from '../../queues/commands.js';

/** What the load needs to place valid orders. */
export interface Catalog {
  userIds: string[];
  productIds: string[];
}

/** Enough stock that no benchmark order ever fails for want of it. */
const STOCK = 1_000_000_000;

/**
 * Users and products written straight to the tables (seeding is not what is measured). Orders
 * pick two of `products` at random, so row locks on products rarely collide.
 */
export async function seedCatalog(databaseUrl: string, counts = { users: 1000, products: 1000 }): Promise<Catalog> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const userIds = Array.from({ length: counts.users }, () => uuidv7());
    const productIds = Array.from({ length: counts.products }, () => uuidv7());
    await client.query(
      `insert into users (id, email, name, created_at)
       select id, 'bench-' || n || '@example.com', 'Bench User ' || n, now()
         from unnest($1::uuid[]) with ordinality as t(id, n)`,
      [userIds],
    );
    await client.query(
      `insert into products (id, sku, name, price_minor, currency, stock, created_at, updated_at)
       select id, 'BENCH-' || n, 'Bench product ' || n, 1250, 'EUR', $2, now(), now()
         from unnest($1::uuid[]) with ordinality as t(id, n)`,
      [productIds, STOCK],
    );
    await client.query('analyze users; analyze products');
    return { userIds, productIds };
  } finally {
    await client.end();
  }
}

/** Registers a webhook endpoint directly in the table (as POST /v1/webhook-endpoints would). */
export async function addWebhookEndpoint(
  databaseUrl: string,
  url: string,
  eventTypes: string[],
  secret = `whsec_${randomBytes(32).toString('base64')}`,
): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `insert into webhook_endpoints (id, url, event_types, secret, enabled, created_at) values ($1, $2, $3::jsonb, $4, true, now())`,
      [uuidv7(), url, JSON.stringify(eventTypes), secret],
    );
  } finally {
    await client.end();
  }
  return secret;
}

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;

/** Lines per benchmark order: fixed, so every PlaceOrder issues statements of the same shape. */
export const ORDER_LINES = 2;

/**
 * The HTTP body of POST /v1/orders for a random user and ORDER_LINES distinct random products
 * (one line when the catalog has one product: the hot-product scenario).
 */
export function orderBody(catalog: Catalog): { userId: string; items: { productId: string; quantity: number }[] } {
  const lines = Math.min(ORDER_LINES, catalog.productIds.length);
  const products = new Set<string>();
  while (products.size < lines) products.add(pick(catalog.productIds));
  return { userId: pick(catalog.userIds), items: [...products].map((productId) => ({ productId, quantity: 1 })) };
}

/** A PlaceOrder job payload, as the web process would enqueue it. */
export function placeOrderPayload(catalog: Catalog): CommandPayload<'PlaceOrder'> {
  return { ...orderBody(catalog), commandId: uuidv7(), orderId: uuidv7() };
}
