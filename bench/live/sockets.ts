import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** The TCP connections a process holds, by what is at the other end. */
export interface Sockets {
  redis: number;
  postgres: number;
  /** Connections accepted on `httpPort` (clients of the web process). */
  http: number;
  other: number;
}

/** Local and remote ports of every TCP socket of the machine, by socket inode (/proc/net/tcp, tcp6). */
function tcpSockets(): Map<string, { local: number; remote: number }> {
  const byInode = new Map<string, { local: number; remote: number }>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const port = (address: string | undefined) => parseInt(address?.split(':')[1] ?? '0', 16);
      byInode.set(fields[9]!, { local: port(fields[1]), remote: port(fields[2]) });
    }
  }
  return byInode;
}

/** Counts the TCP connections process `pid` holds open (Linux /proc). */
export function socketsOf(pid: number, httpPort: number): Sockets {
  const tcp = tcpSockets();
  const counts: Sockets = { redis: 0, postgres: 0, http: 0, other: 0 };
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return counts;
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    const socket = inode ? tcp.get(inode) : undefined;
    if (!socket) continue;
    if (socket.remote === 6379) counts.redis += 1;
    else if (socket.remote === 5432) counts.postgres += 1;
    else if (socket.local === httpPort && socket.remote !== 0) counts.http += 1;
    else if (socket.remote !== 0) counts.other += 1;
  }
  return counts;
}
