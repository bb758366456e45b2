import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on a free loopback port in front of `target` (e.g. Redis), which a test can
 * freeze: from then on nothing passes in either direction, as if the network had gone silent.
 * A process connected through it stays up but can no longer reach the target, which lets a test
 * kill it at a precise point (say, after a PostgreSQL commit and before the BullMQ ack).
 */
export class TcpProxy {
  private frozen = false;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  port = 0;

  private constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      this.pipe(client, upstream);
      this.pipe(upstream, client);
    });
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as AddressInfo).port;
    return proxy;
  }

  /** The target's URL rewritten to go through the proxy (`redis://127.0.0.1:<proxy port>`). */
  rewrite(url: string): string {
    const rewritten = new URL(url);
    rewritten.hostname = '127.0.0.1';
    rewritten.port = String(this.port);
    return rewritten.toString();
  }

  /** Nothing passes any more; bytes sent from now on are dropped. */
  freeze(): void {
    this.frozen = true;
  }

  /** Drops every connection and stops listening. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(from: Socket, to: Socket): void {
    this.sockets.add(from);
    from.on('data', (chunk: Buffer) => {
      if (!this.frozen) to.write(chunk);
    });
    from.on('error', () => to.destroy());
    from.on('close', () => {
      this.sockets.delete(from);
      to.destroy();
    });
  }
}
