import { readFileSync } from 'node:fs';
import os from 'node:os';
import { adminQuery } from './database.js';
import { redisVersion } from './redis.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  postgres: string;
  redis: string;
  /** 1-minute load average at the start and the end of the run: how busy the machine was. */
  loadAverage: { start: number; end?: number };
}

export async function describeMachine(): Promise<Machine> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const [{ server_version: postgres } = { server_version: 'unknown' }] = await adminQuery<{ server_version: string }>(
    'show server_version',
  );
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    postgres,
    redis: await redisVersion(),
    loadAverage: { start: os.loadavg()[0] ?? Number.NaN },
  };
}
