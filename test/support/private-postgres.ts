import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './net.js';

// A throwaway PostgreSQL cluster of a test's own (initdb in a temporary dir, its own port and
// socket dir), so a test can stop and start it: the machine's shared server is never touched.
// initdb and the server refuse to run as root; as root the tools run as the `postgres` OS user.

const run = promisify(execFile);

export interface PrivatePostgres {
  port: number;
  dir: string;
  /** URL of a database on this cluster (default `postgres`). */
  url(database?: string): string;
  readonly running: boolean;
  /** `pg_ctl start` on the same dir and port; waits until it accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop -m <mode>` (fast: disconnects every client, rolls back their transactions). */
  stop(mode?: 'smart' | 'fast' | 'immediate'): Promise<void>;
  /** `create database <name>`. */
  createDatabase(name: string): Promise<string>;
  /** The server log (all runs). */
  log(): Promise<string>;
  /** Stops the server (immediate) if it runs and removes the dir. */
  cleanup(): Promise<void>;
}

/** Directory of the PostgreSQL binaries: the newest /usr/lib/postgresql/<ver>/bin, else PATH. */
function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((entry) => /^\d+$/.test(entry) && existsSync(path.join(root, entry, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(root, versions[0], 'bin');
}

const isRoot = () => process.getuid?.() === 0;

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Runs a PostgreSQL tool, as the postgres OS user when this process is root. */
async function tool(name: string, args: string[]): Promise<string> {
  const dir = binDir();
  const executable = dir ? path.join(dir, name) : name;
  const [file, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', executable, ...args]] : [executable, args];
  try {
    const { stdout, stderr } = await run(file, argv, { timeout: 60_000 });
    return stdout + stderr;
  } catch (error) {
    const failed = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${name} ${args.join(' ')} failed: ${failed.message}\n${failed.stdout ?? ''}${failed.stderr ?? ''}`, { cause: error });
  }
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = await mkdtemp(path.join(tmpdir(), 'conveyor-pg-'));
  if (isRoot()) {
    const { uid, gid } = await postgresUser();
    await chown(dir, uid, gid);
  }
  const dataDir = dir;
  const logFile = path.join(dir, 'log');
  const port = await freePort();
  await tool('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions']);
  let running = false;

  const cluster: PrivatePostgres = {
    port,
    dir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    get running() {
      return running;
    },

    async start() {
      // The socket goes to the data dir: /var/run/postgresql may not exist or be writable.
      const options = `-p ${port} -k ${dataDir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
      await tool('pg_ctl', ['-D', dataDir, '-o', options, '-l', logFile, '-w', '-t', '60', 'start']);
      running = true;
    },

    async stop(mode = 'fast') {
      if (!running) return;
      await tool('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },

    async createDatabase(name) {
      const client = new pg.Client({ connectionString: cluster.url() });
      await client.connect();
      try {
        await client.query(`create database ${name}`);
      } finally {
        await client.end();
      }
      return cluster.url(name);
    },

    log: () => readFile(logFile, 'utf8').catch(() => ''),

    async cleanup() {
      await cluster.stop('immediate').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}
