import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './net.js';


const run = promisify(execFile);

/** A throwaway Redis Cluster of real `redis-server` processes on loopback. */
export interface RedisCluster {
  ports: number[];
  /** `REDIS_URL` for conveyor: the seed nodes, comma-separated (with the ACL user's login, if any). */
  url: string;
  /** Output of every node, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

/** Whether `port` can be bound on 127.0.0.1 right now. */
async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free loopback port chosen by the kernel. */

/**
 * A free port whose cluster bus port (port + 10000, fixed by Redis) is free too, and that
 * is not among `taken`.
 */
async function freeClusterPort(taken: readonly number[]): Promise<number> {
  for (let tries = 0; tries < 100; tries += 1) {
    const port = await freePort();
    if (port + 10_000 > 65_535 || taken.includes(port) || taken.includes(port + 10_000)) continue;
    if (await portIsFree(port + 10_000)) return port;
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

export interface RedisClusterOptions {
  /** Masters to start (no replicas). */
  nodes?: number;
  /**
   * Turns the `default` user off and creates this ACL user with every permission, so a
   * client must log in as it.
   */
  user?: { name: string; password: string };
}

function cliAuth(user: RedisClusterOptions['user']): string[] {
  return user ? ['--user', user.name, '--pass', user.password, '--no-auth-warning'] : [];
}

async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts `nodes` cluster-enabled redis-server processes (masters only, no replicas, nothing
 * persisted) in a temporary directory, joins them with `redis-cli --cluster create`, and
 * resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const { nodes = 3, user } = options;
  const auth = cliAuth(user);
  const redisCli = async (port: number, ...args: string[]): Promise<string> => {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...auth, ...args], { timeout: 30_000 });
    return stdout;
  };
  const acl = user ? ['--user', 'default', 'off', '--user', user.name, 'on', `>${user.password}`, '~*', '&*', '+@all'] : [];
  const dir = await mkdtemp(join(tmpdir(), 'conveyor-redis-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  let output = '';
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await rm(dir, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < nodes; i += 1) {
      const port = await freeClusterPort(ports);
      ports.push(port);
      // prettier-ignore
      const child = spawn('redis-server', [
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', '5000',
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--save', '',
        '--appendonly', 'no',
        '--maxmemory-policy', 'noeviction',
        '--dir', dir,
        ...acl,
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (chunk: Buffer) => (output += `[${port}] ${chunk.toString()}`));
      child.stderr?.on('data', (chunk: Buffer) => (output += `[${port}] ${chunk.toString()}`));
      children.push(child);
    }
    for (const port of ports) {
      await waitUntil(async () => (await redisCli(port, 'ping')).trim() === 'PONG', 10_000, `redis on ${port}`);
    }
    await run(
      'redis-cli',
      [...auth, '--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 30_000 },
    );
    for (const port of ports) {
      await waitUntil(
        async () => (await redisCli(port, 'cluster', 'info')).includes('cluster_state:ok'),
        30_000,
        `cluster_state:ok on ${port}`,
      );
    }
  } catch (error) {
    await stop();
    throw new Error(`could not start a Redis Cluster: ${String(error)}\n${output}`, { cause: error });
  }

  const credentials = user ? `${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@` : '';
  return {
    ports,
    url: ports.map((port) => `redis://${credentials}127.0.0.1:${port}`).join(','),
    logs: () => output,
    stop,
  };
}
