import { QueueEvents, QueueKeys } from 'bullmq';
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

/** How long the stream is still read after the last watcher left, by default (ms). */
export const DEFAULT_EVENTS_IDLE_MS = 30_000;

export interface BullMqCommandEventsOptions {
  /** REDIS_URL: the events connection is a blocking one of its own (XREAD BLOCK). */
  redisUrl: string;
  /** QUEUE_PREFIX. */
  prefix: string;
  logger: Logger;
  /** The stream is read until this long after the last watcher left (ms). */
  idleMs?: number;
}

/** A QueueEvents reading the stream, and when it reads from a known position. */
interface Reader {
  /** Set once positioned (a reader stopped before that never gets one). */
  events?: QueueEvents;
  positioned: Promise<void>;
  /** Rejects `positioned` (close(): a command queued while Redis is away would wait for it). */
  cancel: (error: Error) => void;
}

/**
 * The `commands` queue's events, as every process sees them: BullMQ writes each job's
 * transitions (waiting, delayed, active, completed, failed, removed) to a Redis stream, and one
 * QueueEvents per process reads it (on a blocking connection it duplicates from the one it is
 * given: two in all). Watchers subscribe by command id here, in a map, so a thousand idle
 * watchers cost a thousand map entries, not a thousand connections.
 *
 * The stream is read only while someone watches (and `idleMs` after): under load it carries
 * several events per command, and a web process nobody follows a command on would read and
 * parse every one of them for nothing. The first watcher starts the reader at the stream's
 * last entry, read before `subscribe` resolves, so its status read misses nothing. After a
 * reconnect QueueEvents goes on from the last event it read, so a blip loses nothing.
 */
export class BullMqCommandEvents implements CommandEvents {
  private readonly listeners = new Map<string, Set<Listener>>();
  private reader: Reader | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly idleMs: number;

  private constructor(
    private readonly connection: RedisConnection,
    private readonly options: BullMqCommandEventsOptions,
  ) {
    this.idleMs = options.idleMs ?? DEFAULT_EVENTS_IDLE_MS;
  }

  /** Opens the connection (the reader starts with the first watcher). */
  static async open(options: BullMqCommandEventsOptions): Promise<BullMqCommandEvents> {
    const connection = createRedisConnection({ url: options.redisUrl, role: 'worker', connectionName: 'conveyor:web:events' });
    connection.on('error', (error) => options.logger.warn({ err: error }, 'command events: Redis error'));
    try {
      await connection.ping();
    } catch (error) {
      connection.disconnect();
      throw error;
    }
    return new BullMqCommandEvents(connection, options);
  }

  async subscribe(commandId: string, listener: Listener): Promise<() => void> {
    let set = this.listeners.get(commandId);
    if (!set) {
      set = new Set();
      this.listeners.set(commandId, set);
    }
    set.add(listener);
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const unsubscribe = () => {
      const current = this.listeners.get(commandId);
      if (!current?.delete(listener)) return;
      if (current.size === 0) this.listeners.delete(commandId);
      if (this.listeners.size === 0) this.stopWhenIdle();
    };
    const reader = (this.reader ??= this.startReader());
    try {
      await reader.positioned;
    } catch (error) {
      unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  /** How many watchers are subscribed now (a gauge for operators and the bench). */
  get watchers(): number {
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }

  /** Whether the stream is being read now. */
  get reading(): boolean {
    return this.reader !== undefined;
  }

  /** Stops reading and closes both connections: BullMQ closes the blocking one it made, not the one it was given. */
  async close(): Promise<void> {
    this.listeners.clear();
    clearTimeout(this.idleTimer);
    await this.stopReader();
    // Not quit: while Redis is away it would wait in the offline queue. A reader still
    // positioning is rejected by this, and its subscribers with it.
    this.connection.disconnect();
  }

  private startReader(): Reader {
    const stream = new QueueKeys(this.options.prefix).toKey(COMMANDS_QUEUE, 'events');
    let cancel!: (error: Error) => void;
    const positioned = new Promise<void>((resolve, reject) => {
      cancel = reject;
      this.connection.xrevrange(stream, '+', '-', 'COUNT', 1).then(([last]) => {
        if (this.reader !== reader) return resolve();
        // From the last entry there is ('0-0' for none yet): what is written after it is read.
        const events = new QueueEvents(COMMANDS_QUEUE, { connection: this.connection, prefix: this.options.prefix, lastEventId: last?.[0] ?? '0-0' });
        events.on('error', (error) => this.options.logger.warn({ err: error }, 'command events: Redis error'));
        for (const [event, signal] of Object.entries(SIGNALS)) {
          events.on(event as 'waiting', ({ jobId }: { jobId: string }) => this.dispatch(jobId, signal));
        }
        reader.events = events;
        resolve();
      }, reject);
    });
    const reader: Reader = { positioned, cancel };
    positioned.catch(() => {
      if (this.reader === reader) this.reader = undefined;
    });
    return reader;
  }

  private stopWhenIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.listeners.size === 0) void this.stopReader();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private async stopReader(): Promise<void> {
    const reader = this.reader;
    // A reader still positioning never starts: it is no longer `this.reader` when it is positioned.
    this.reader = undefined;
    const events = reader?.events;
    if (!events) {
      reader?.cancel(new Error('command events: stopped before the reader started'));
      return;
    }
    // Its signals end here (a read in flight would hand over events a next reader reads again).
    events.removeAllListeners();
    events.on('error', () => undefined);
    await events.close().catch((error: unknown) => this.options.logger.warn({ err: error }, 'command events: could not close the reader'));
  }

  private dispatch(jobId: string, signal: QueueSignal): void {
    const set = this.listeners.get(jobId);
    if (!set) return;
    for (const listener of [...set]) listener(signal);
  }
}
