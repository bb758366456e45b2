import { createServer, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * A TCP port that is free right now on `host`: the kernel picks it for a listener on port 0,
 * which is closed again at once. Another process could take it in between; in tests on a
 * loopback address that practically never happens.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Counts the writes `socket` hands to its file descriptor from now on: the calls of Node's `_write`
 * and `_writev`, normally one system call each (several chunks written while the socket is corked
 * are one `_writev`). `writes` holds the bytes of each.
 */
export function countWrites(socket: Duplex): { readonly count: number; readonly writes: Buffer[] } {
  const writes: Buffer[] = [];
  const bytes = (chunk: unknown) => (Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const target = socket as Duplex & { _write: Duplex['_write']; _writev?: Duplex['_writev'] };
  const write = target._write;
  target._write = function (this: Duplex, ...args: Parameters<Duplex['_write']>) {
    writes.push(bytes(args[0]));
    return write.apply(this, args);
  };
  const writev = target._writev;
  if (writev) {
    target._writev = function (this: Duplex, ...args: Parameters<NonNullable<Duplex['_writev']>>) {
      writes.push(Buffer.concat(args[0].map(({ chunk }) => bytes(chunk))));
      return writev.apply(this, args);
    };
  }
  return {
    get count() {
      return writes.length;
    },
    writes,
  };
}
