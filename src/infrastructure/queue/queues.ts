import { Queue, type DefaultJobOptions, type Telemetry } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import {
  DEFAULT_JOB_RETENTION,
  type JobRetention,
  type QueueName,
  commandJobOptions,
  emailJobOptions,
  jobRetentionOptions,
  maintenanceJobOptions,
  webhookQueueDefaults,
} from '../../../queues/index.js';

/** Webhook jobs get their options from the retry schedule when they are added. */
const DEFAULT_JOB_OPTIONS: Record<QueueName, DefaultJobOptions> = {
  commands: commandJobOptions,
  emails: emailJobOptions,
  webhooks: webhookQueueDefaults,
  maintenance: maintenanceJobOptions,
};

export interface QueueOptions {
  /** A producer connection (`createRedisConnection({ role: 'producer' })`): it fails fast when Redis is down. */
  connection: Redis | Cluster;
  /** `config.queuePrefix`: every BullMQ key starts with it. */
  prefix: string;
  /** BullMQ telemetry (OpenTelemetry) when tracing is on: `add` opens a producer span and the job carries its context. */
  telemetry?: Telemetry | undefined;
  /** How long finished jobs stay in Redis (`config.retention.jobs[name]`); the contract's defaults otherwise. */
  retention?: JobRetention | undefined;
  /** Laid over the contract's default job options (e.g. `attempts` from COMMAND_ATTEMPTS). */
  jobOptions?: Partial<DefaultJobOptions> | undefined;
}

/**
 * A producer-side queue with the contract's default job options and the configured retention
 * of finished jobs, so every job added to it gets the retries of its queues/<name>.ts and the
 * RETENTION_<QUEUE>_JOBS_* ages whoever adds it (BullMQ merges a job's own options over these).
 */
export function createQueue(name: QueueName, options: QueueOptions): Queue {
  return new Queue(name, {
    connection: options.connection,
    prefix: options.prefix,
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    defaultJobOptions: {
      ...DEFAULT_JOB_OPTIONS[name],
      ...jobRetentionOptions(options.retention ?? DEFAULT_JOB_RETENTION[name]),
      ...options.jobOptions,
    },
  });
}
