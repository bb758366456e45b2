import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Makes `socket` send what is written to it within one turn of the event loop in one write
 * system call: the first write of a turn corks it, and it is uncorked once the turn's callbacks
 * have run (`setImmediate`), when Node writes everything buffered at once (`writev`). Nothing is
 * reordered: every byte still goes through this socket in the order it was written. Why, and
 * why not ioredis's `enableAutoPipelining`: docs/adr/0021-coalesced-redis-writes.md; on
 * PostgreSQL connections: docs/adr/0022-coalesced-postgres-writes.md.
 */
export function coalesceWrites(socket: Duplex): void {
  const write = socket.write.bind(socket) as (...args: Parameters<Duplex['write']>) => boolean;
  let corked = false;
  const flush = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = ((...args: Parameters<Duplex['write']>): boolean => {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      setImmediate(flush);
    }
    return write(...args);
  }) as Duplex['write'];
}

/**
 * A new, unconnected TCP (or Unix-domain) socket whose writes are joined per turn once it is
 * connected (`net.Socket#connect` puts the prototype's `write` back, so the wrapper goes on at
 * `connect`, before the listeners its user adds after calling `connect`).
 */
export function coalescingSocket(): Socket {
  const socket = new Socket();
  socket.once('connect', () => coalesceWrites(socket));
  return socket;
}
