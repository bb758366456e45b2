// The webhook receiver of the events and end-to-end figures: answers every POST with 204 at
// once and records when each delivery arrived. `node receiver.js <port>`; WEBHOOK_SECRET in the
// env. Talks to the runner over IPC: {type: 'take'} → {type: 'deliveries', deliveries} (and
// forgets them), {type: 'count'} → {type: 'count', count}.
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { epochMs } from '../lib/load.js';

export interface Delivery {
  webhookId: string;
  orderId: string | null;
  /** The event's occurred_at (the body's `timestamp`), epoch ms. */
  occurredAt: number;
  /** When the whole request had arrived here, epoch ms (the wall clock: `epochMs`). */
  receivedAt: number;
}

export type ReceiverRequest = { type: 'take' } | { type: 'count' };
export type ReceiverReply =
  | { type: 'deliveries'; deliveries: Delivery[]; signatures: { checked: number; valid: number }; duplicates: number }
  | { type: 'count'; count: number }
  | { type: 'listening'; port: number };

const port = Number(process.argv[2] ?? 0);
const key = Buffer.from((process.env.WEBHOOK_SECRET ?? '').replace(/^whsec_/, ''), 'base64');
let deliveries: Delivery[] = [];
const seen = new Set<string>();
let duplicates = 0;
// The first deliveries' signatures are checked (Standard Webhooks): proof the figures are of
// real, correctly signed deliveries, without an HMAC per request in the measurement.
const signatures = { checked: 0, valid: 0 };

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const receivedAt = epochMs();
    response.writeHead(204).end();
    const body = Buffer.concat(chunks).toString('utf8');
    const webhookId = String(request.headers['webhook-id'] ?? '');
    if (seen.has(webhookId)) {
      duplicates += 1;
      return;
    }
    seen.add(webhookId);
    if (signatures.checked < 50) {
      signatures.checked += 1;
      const expected = `v1,${createHmac('sha256', key).update(`${webhookId}.${String(request.headers['webhook-timestamp'])}.${body}`).digest('base64')}`;
      if (String(request.headers['webhook-signature'] ?? '').split(' ').includes(expected)) signatures.valid += 1;
    }
    try {
      const parsed = JSON.parse(body) as { timestamp?: string; data?: { orderId?: unknown } };
      deliveries.push({
        webhookId,
        orderId: typeof parsed.data?.orderId === 'string' ? parsed.data.orderId : null,
        occurredAt: Date.parse(parsed.timestamp ?? ''),
        receivedAt,
      });
    } catch {
      deliveries.push({ webhookId, orderId: null, occurredAt: Number.NaN, receivedAt });
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  send({ type: 'listening', port: typeof address === 'object' && address ? address.port : port });
});

function send(message: ReceiverReply): void {
  process.send?.(message);
}
process.on('message', (message: ReceiverRequest) => {
  if (message.type === 'count') send({ type: 'count', count: deliveries.length });
  if (message.type === 'take') {
    send({ type: 'deliveries', deliveries, signatures: { ...signatures }, duplicates });
    deliveries = [];
  }
});
process.on('disconnect', () => server.close(() => process.exit(0)));
