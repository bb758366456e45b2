import type { Duplex } from 'node:stream';

const coalescing = new WeakSet<Duplex>();

/**
 * Makes `socket` send what is written to it within one turn of the event loop in one write
 * system call: the first write of a turn corks it, and it is uncorked once the turn's callbacks
 * have run (`setImmediate`), when Node writes everything buffered at once (`writev`).
 *
 * Why: on these machines a write to a loopback socket is the largest single cost of every
 * process (docs/adr/0021-coalesced-redis-writes.md). ioredis writes each command as it is
 * issued, so commands issued together (a line's start and its job's add, the completions of a
 * group transaction's jobs) cost one system call each. ioredis's own `enableAutoPipelining`
 * batches them too, but only the commands it may pipeline: the others are written at once and
 * can overtake the ones it holds. Here nothing is reordered, since every byte still goes through
 * the same socket in the order it was written; a command is only sent at the end of the turn
 * instead of at once.
 *
 * Idempotent per socket.
 */
export function coalesceWrites(socket: Duplex): void {
  if (coalescing.has(socket)) return;
  coalescing.add(socket);
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
