// In-memory ports of what tracks a command after intake: its outcome row, its job, the queue's
// events. For the unit tests of GetCommandStatus, CancelCommand and WatchCommand.
import type { CommandEvents, CommandOutcome, CommandOutcomes, CommandQueue, QueuedCommandFields } from '../../../src/application/commerce/ports/command-control.js';
import type { QueueSignal } from '../../../src/application/commerce/queries/command-status-events.js';
import type {
  CommandJobs,
  ProcessedCommandDto,
  QueuedCommandState,
  ReadModel,
  ScheduledCommandDto,
} from '../../../src/application/commerce/queries/read-model.js';

const notHere = async (): Promise<never> => {
  throw new Error('not used by these tests');
};

/** processed_commands and scheduled_commands as maps; the other reads are not used here. */
export class FakeCommandRecords implements ReadModel, CommandOutcomes {
  readonly processed = new Map<string, ProcessedCommandDto>();
  readonly scheduled = new Map<string, ScheduledCommandDto>();
  findOrder = notHere;
  listUserOrders = notHere;
  userOrderSummary = notHere;
  findProduct = notHere;

  async findProcessedCommand(commandId: string): Promise<ProcessedCommandDto | null> {
    return this.processed.get(commandId) ?? null;
  }

  async findScheduledCommand(commandId: string): Promise<ScheduledCommandDto | null> {
    return this.scheduled.get(commandId) ?? null;
  }

  /** Records an outcome as the unit of work would. */
  settle(commandId: string, type: string, status: ProcessedCommandDto['status'], result: unknown = null): void {
    this.processed.set(commandId, {
      commandId,
      type,
      status,
      result,
      error: status === 'failed' ? { code: 'insufficient_stock', message: 'not enough' } : null,
      processedAt: '2025-03-14T09:26:53.000Z',
    });
  }

  async cancel(command: { commandId: string; commandType: string } & QueuedCommandFields): Promise<CommandOutcome> {
    const existing = this.processed.get(command.commandId);
    if (existing) return existing.status;
    this.settle(command.commandId, command.commandType, 'cancelled', command.after === undefined ? null : { after: command.after });
    if (command.sentBy) this.processed.set(command.commandId, { ...this.processed.get(command.commandId)!, sentBy: command.sentBy.name });
    return 'cancelled';
  }
}

/** Jobs by command id; like BullMQ, a running job cannot be removed. */
export class FakeCommandJobs implements CommandJobs, CommandQueue {
  readonly jobs = new Map<string, QueuedCommandState>();
  readonly removed: string[] = [];
  /** The commands whose parked successors were woken, in order. */
  readonly woken: string[] = [];

  put(commandId: string, state: QueuedCommandState['state'], attempts = 0, runAt: string | null = null): void {
    this.jobs.set(commandId, { commandId, type: 'RegisterUser', state, attempts, runAt, error: null, waitingFor: null });
  }

  async find(commandId: string): Promise<QueuedCommandState | null> {
    return this.jobs.get(commandId) ?? null;
  }

  async remove(commandId: string): Promise<boolean> {
    const job = this.jobs.get(commandId);
    if (!job || job.state === 'running') return false;
    this.jobs.delete(commandId);
    this.removed.push(commandId);
    return true;
  }

  async wakeSuccessors(commandId: string): Promise<void> {
    this.woken.push(commandId);
  }

  /** Predecessors by command id (per-aggregate ordering). */
  readonly predecessors = new Map<string, string>();
  /** Senders by command id. */
  readonly senders = new Map<string, { keyId: string; name: string }>();

  async fieldsOf(commandId: string): Promise<QueuedCommandFields> {
    return { after: this.predecessors.get(commandId), sentBy: this.senders.get(commandId) };
  }
}

/** A queue event bus the test drives with `signal`. */
export class FakeCommandEvents implements CommandEvents {
  private readonly listeners = new Map<string, Set<(signal: QueueSignal) => void>>();
  private gate: Promise<void> | undefined;

  async subscribe(commandId: string, listener: (signal: QueueSignal) => void): Promise<() => void> {
    const set = this.listeners.get(commandId) ?? new Set();
    set.add(listener);
    this.listeners.set(commandId, set);
    await this.gate;
    return () => set.delete(listener);
  }

  /** Subscriptions hold only once the returned function is called (a reader still starting). */
  holdSubscriptions(): () => void {
    let open!: () => void;
    this.gate = new Promise((resolve) => (open = resolve));
    return () => {
      this.gate = undefined;
      open();
    };
  }

  signal(commandId: string, signal: QueueSignal): void {
    for (const listener of this.listeners.get(commandId) ?? []) listener(signal);
  }

  subscribers(commandId: string): number {
    return this.listeners.get(commandId)?.size ?? 0;
  }
}
