import type pg from 'pg';
import { coalescingSocket } from '../net/coalesced-writes.js';

/**
 * The configuration of a pg pool whose clients pipeline: pg's `pipeline: true` sends each query
 * without waiting for the answers to those before it, and every connection's socket sends the
 * queries issued in one turn of the event loop in one write (pg writes each query on its own,
 * so `BEGIN` and a claim issued together would otherwise be two system calls and two wake-ups
 * of the backend). Over TLS the socket is only the carrier of the TLS stream pg opens on it,
 * whose writes are its own. docs/adr/0022-coalesced-postgres-writes.md.
 */
export function pipeliningPoolConfig(config: pg.PoolConfig): pg.PoolConfig {
  return { ...config, pipeline: true, stream: coalescingSocket };
}
