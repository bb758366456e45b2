// The clients of the ordering phase, over HTTP as a user sends commands; every POST waits
// only for its 202. Three modes:
//   node http-client.js burst <baseUrl> <count> <inFlight>        PlaceOrder for distinct orders, random products
//   node http-client.js lifecycle <baseUrl> <rounds> <clients>    each client: Place → Confirm → Ship, round after round
//   node http-client.js chain <baseUrl> <productId> <count> <inFlight>   RestockProduct (quantity 1) on one product
// BENCH_CATALOG in the env (burst, lifecycle). Prints RESULT with the command ids (lifecycle:
// one [place, confirm, ship] triple per round, in the order each client sent them), when the
// first POST went out and when the last 202 came back (epoch ms), and the status codes.
import { Agent, request } from 'undici';
import { epochMs as now } from '../lib/load.js';
import { printResult } from '../lib/processes.js';
import { orderBody, type Catalog } from '../lib/seed.js';
import { API_KEY } from '../lib/system.js';

export interface ClientRun {
  commandIds: string[];
  /** lifecycle: [place, confirm, ship] command ids of each round. */
  rounds: string[][];
  firstPostAt: number;
  lastAcceptedAt: number;
  statuses: Record<string, number>;
}

const [mode = 'burst', baseUrl = '', ...args] = process.argv.slice(2);
const catalog = JSON.parse(process.env.BENCH_CATALOG ?? '{"userIds":[],"productIds":[]}') as Catalog;
const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
const statuses: Record<string, number> = {};
let firstPostAt = Number.NaN;
let lastAcceptedAt = Number.NaN;

/** POSTs `body` to `path`; the 202's body, or undefined for anything else. */
async function post(path: string, body: unknown): Promise<{ commandId: string; orderId?: string } | undefined> {
  if (Number.isNaN(firstPostAt)) firstPostAt = now();
  try {
    const response = await request(`${baseUrl}${path}`, {
      method: 'POST',
      dispatcher: agent,
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.body.text();
    statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
    if (response.statusCode !== 202) return undefined;
    lastAcceptedAt = now();
    return JSON.parse(text) as { commandId: string; orderId?: string };
  } catch {
    statuses.error = (statuses.error ?? 0) + 1;
    return undefined;
  }
}

/** Runs `next` from `parallel` loops until it returns false. */
async function loops(parallel: number, next: () => Promise<boolean>): Promise<void> {
  await Promise.all(
    // Each loop sends its next command as soon as the previous one's 202 is back.
    Array.from({ length: parallel }, async () => {
      for (;;) if (!(await next())) return;
    }),
  );
}

const commandIds: string[] = [];
const rounds: string[][] = [];
/** Hands out `count` turns to the loops; false once they are all taken. */
const turns = (count: number) => {
  let taken = 0;
  return () => (taken < count ? ((taken += 1), true) : false);
};

if (mode === 'burst') {
  const [count = '3000', inFlight = '64'] = args;
  const turn = turns(Number(count));
  await loops(Number(inFlight), async () => {
    if (!turn()) return false;
    const accepted = await post('/v1/orders', orderBody(catalog));
    if (accepted) commandIds.push(accepted.commandId);
    return true;
  });
} else if (mode === 'lifecycle') {
  const [count = '1000', clients = '64'] = args;
  const turn = turns(Number(count));
  await loops(Number(clients), async () => {
    if (!turn()) return false;
    const placed = await post('/v1/orders', orderBody(catalog));
    if (!placed?.orderId) return true;
    const confirmed = await post(`/v1/orders/${placed.orderId}/confirm`, {});
    const shipped = confirmed && (await post(`/v1/orders/${placed.orderId}/ship`, {}));
    const round = [placed, confirmed, shipped].flatMap((accepted) => (accepted ? [accepted.commandId] : []));
    commandIds.push(...round);
    rounds.push(round);
    return true;
  });
} else if (mode === 'chain') {
  const [productId = '', count = '500', inFlight = '64'] = args;
  const turn = turns(Number(count));
  await loops(Number(inFlight), async () => {
    if (!turn()) return false;
    const accepted = await post(`/v1/products/${productId}/restock`, { quantity: 1 });
    if (accepted) commandIds.push(accepted.commandId);
    return true;
  });
} else {
  throw new Error(`unknown mode ${mode}: burst, lifecycle or chain`);
}
const result: ClientRun = { commandIds, rounds, firstPostAt, lastAcceptedAt, statuses };
printResult(result);
await agent.close();
