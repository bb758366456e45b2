import { createServer, type AddressInfo } from 'node:net';

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

