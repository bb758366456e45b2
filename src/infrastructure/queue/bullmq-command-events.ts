import { QueueEvents } from 'bullmq';
import type { CommandEvents } from '../../application/commerce/ports/command-control.js';
import type { QueueSignal } from '../../application/commerce/queries/command-status-events.js';
import { COMMANDS_QUEUE } from '../../../queues/commands.js';
import type { Logger } from '../logger.js';
import { createRedisConnection, type RedisConnection } from '../redis/connection.js';

type Listener = (signal: QueueSignal) => void;

/** The BullMQ events of a job, as the signal a command watcher acts on. */
const SIGNALS: Readonly<Record<string, QueueSignal>> = {
  waiting: 'queued',
  delayed: 'delayed',
  active: 'running',
  completed: 'settled',
  failed: 'settled',
  removed: 'settled',
};

export interface BullMqCommandEventsOptions {
  /** REDIS_URL: the events connection is a blocking one of its own (XREAD BLOCK). */
  redisUrl: string;
  /** QUEUE_PREFIX. */
  prefix: string;
  logger: Logger;
}

/**
 * The `commands` queue's events, as every process sees them: BullMQ writes each job's
 * transitions (waiting, delayed, active, completed, failed, removed) to a Redis stream, and one
 * QueueEvents per process reads it (on a blocking connection it duplicates from the one it is
 * given: two in all). Watchers subscribe by command id here, in
 * a map, so a thousand idle watchers cost a thousand map entries, not a thousand connections.
 * The stream is read from where it was at start-up; after a reconnect QueueEvents goes on from
 * the last event it read, so a blip loses nothing.
 */
export class BullMqCommandEvents implements CommandEvents {
  private readonly listeners = new Map<string, Set<Listener>>();

  private constructor(
    private readonly events: QueueEvents,
    private readonly connection: RedisConnection,
  ) {
    for (const [event, signal] of Object.entries(SIGNALS)) {
      events.on(event as 'waiting', ({ jobId }: { jobId: string }) => this.dispatch(jobId, signal));
    }
  }

  /** Opens the events connection and waits until it reads the stream. */
  static async open(options: BullMqCommandEventsOptions): Promise<BullMqCommandEvents> {
    const connection = createRedisConnection({ url: options.redisUrl, role: 'worker', connectionName: 'conveyor:web:events' });
    const events = new QueueEvents(COMMANDS_QUEUE, { connection, prefix: options.prefix });
    events.on('error', (error) => options.logger.warn({ err: error }, 'command events: Redis error'));
    const commandEvents = new BullMqCommandEvents(events, connection);
    try {
      await events.waitUntilReady();
    } catch (error) {
      await commandEvents.close().catch(() => undefined);
      throw error;
    }
    return commandEvents;
  }

  subscribe(commandId: string, listener: Listener): () => void {
    let set = this.listeners.get(commandId);
    if (!set) {
      set = new Set();
      this.listeners.set(commandId, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(commandId);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.listeners.delete(commandId);
    };
  }

  /** How many watchers are subscribed now (a gauge for operators and the bench). */
  get watchers(): number {
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }

  /** Stops reading and closes both connections: BullMQ closes the blocking one it made, not the one it was given. */
  async close(): Promise<void> {
    this.listeners.clear();
    await this.events.close();
    await this.connection.quit().catch(() => undefined);
  }

  private dispatch(jobId: string, signal: QueueSignal): void {
    const set = this.listeners.get(jobId);
    if (!set) return;
    for (const listener of [...set]) listener(signal);
  }
}
