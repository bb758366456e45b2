import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { generateWebhookSecret } from '../../src/infrastructure/webhooks/signing.js';
import type { LookupAll } from '../../src/infrastructure/webhooks/ssrf.js';
import { UndiciWebhookSender, type UndiciWebhookSenderOptions } from '../../src/infrastructure/webhooks/undici-webhook-sender.js';

// The undici sender against a real HTTP receiver on 127.0.0.1 (no database, no queue).

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  url: string;
  port: number;
  received: Received[];
  close(): Promise<void>;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function startReceiver(respond: (res: ServerResponse, request: Received) => void): Promise<Receiver> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      respond(res, request);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  closers.push(close);
  return { url: `http://127.0.0.1:${port}`, port, received, close };
}

function sender(options: Partial<UndiciWebhookSenderOptions> = {}): UndiciWebhookSender {
  const created = new UndiciWebhookSender({ allowPrivate: true, timeoutMs: 500, ...options });
  closers.push(() => created.close());
  return created;
}

const secret = generateWebhookSecret();
const webhook = (url: string) => ({
  url,
  secrets: [secret],
  deliveryId: '0192f3c4-aaaa-7000-8000-000000000001',
  timestamp: new Date(),
  body: '{"type":"order.placed","timestamp":"2026-01-01T00:00:00.000Z","data":{"orderId":"o-1"}}',
});

describe('UndiciWebhookSender', () => {
  it('POSTs the body with Standard Webhooks headers that verify', async () => {
    const receiver = await startReceiver((res) => res.writeHead(204).end());
    const result = await sender().send(webhook(`${receiver.url}/hooks?x=1`));
    expect(result).toMatchObject({ statusCode: 204, error: null });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    const [request] = receiver.received;
    expect(request?.url).toBe('/hooks?x=1');
    expect(request?.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': expect.stringContaining('conveyor'),
      'webhook-id': '0192f3c4-aaaa-7000-8000-000000000001',
    });
    expect(new Webhook(secret).verify(request?.body ?? '', request?.headers as Record<string, string>)).toMatchObject({
      type: 'order.placed',
    });
  });

  it('does not follow a redirect: the 3xx is the failed answer', async () => {
    const receiver = await startReceiver((res, request) => {
      if (request.url === '/elsewhere') res.writeHead(200).end();
      else res.writeHead(302, { location: '/elsewhere' }).end();
    });
    const result = await sender().send(webhook(`${receiver.url}/hook`));
    expect(result).toMatchObject({ statusCode: 302, error: 'redirect 302 not followed (location: /elsewhere)' });
    expect(receiver.received.map((request) => request.url)).toEqual(['/hook']);
  });

  it('reads at most the response cap of a 10 MB answer and abandons the rest', async () => {
    let reportClose: (finished: boolean) => void = () => undefined;
    const closed = new Promise<boolean>((resolve) => (reportClose = resolve));
    const receiver = await startReceiver((res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.on('close', () => reportClose(res.writableFinished));
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let written = 0;
      const pump = () => {
        while (written < 10 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const result = await sender({ maxResponseBytes: 64 * 1024, timeoutMs: 5000 }).send(webhook(receiver.url));
    expect(result).toMatchObject({ statusCode: 200, error: null });
    // The receiver could not hand over all 10 MB: the sender hung up after the cap.
    expect(await closed).toBe(false);
  });

  it('keeps a short, capped excerpt of a failed answer', async () => {
    const receiver = await startReceiver((res) => res.writeHead(500).end(`oops\n${'y'.repeat(10 * 1024 * 1024)}`));
    // A generous budget: what is checked is the excerpt, not the clock (10 MiB on a loaded
    // machine took longer than the 500 ms the other cases use).
    const result = await sender({ timeoutMs: 10_000 }).send(webhook(receiver.url));
    expect(result.statusCode).toBe(500);
    expect(result.error).toMatch(/^HTTP 500: oops y+$/);
    expect(result.error?.length).toBeLessThanOrEqual('HTTP 500: '.length + 200);
  });

  it('gives up on a receiver that does not answer in time', async () => {
    const receiver = await startReceiver(() => undefined);
    const result = await sender({ timeoutMs: 300 }).send(webhook(receiver.url));
    expect(result).toMatchObject({ statusCode: null, error: 'timed out after 300 ms' });
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
    expect(result.durationMs).toBeLessThan(2000);
  });

  it('reports a refused connection', async () => {
    const receiver = await startReceiver(() => undefined);
    await receiver.close();
    const result = await sender().send(webhook(receiver.url));
    expect(result.statusCode).toBeNull();
    expect(result.error).toContain('ECONNREFUSED');
  });

  describe('SSRF guard at send time', () => {
    // A resolver that answers 127.0.0.1 for a public-looking name, as a rebinding DNS server would.
    const rebinding: LookupAll = async () => [{ address: '127.0.0.1', family: 4 }];

    it('refuses an IP-literal private URL without connecting', async () => {
      const receiver = await startReceiver((res) => res.writeHead(200).end());
      const result = await sender({ allowPrivate: false }).send(webhook(receiver.url));
      expect(result).toMatchObject({ statusCode: null, error: expect.stringContaining('refused by the SSRF guard: 127.0.0.1 is a loopback') });
      expect(receiver.received).toHaveLength(0);
    });

    it('checks the address the socket connects to, so a rebinding host name is refused', async () => {
      const receiver = await startReceiver((res) => res.writeHead(200).end());
      const url = `http://hooks.rebinding.test:${receiver.port}/`;
      const refused = await sender({ allowPrivate: false, lookup: rebinding }).send(webhook(url));
      expect(refused).toMatchObject({ statusCode: null, error: expect.stringContaining('resolves to 127.0.0.1') });
      expect(receiver.received).toHaveLength(0);
      // The same resolver with private targets allowed reaches the receiver: the hook is in the path.
      const allowed = await sender({ allowPrivate: true, lookup: rebinding }).send(webhook(url));
      expect(allowed).toMatchObject({ statusCode: 200, error: null });
      expect(receiver.received).toHaveLength(1);
    });
  });
});
