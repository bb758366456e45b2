import type {
  CommandFilter,
  CommandPosition,
  CommandRecords,
  CommandRequeue,
  GaveUpCommandRecord,
  ListedCommand,
  ListedCommandStatus,
} from '../../../../../src/application/commerce/triage/ports.js';

/** Newest first by finishedAt, then command id, both descending: the listing's order. */
export function newestFirst(a: CommandPosition, b: CommandPosition): number {
  return b.finishedAt.getTime() - a.finishedAt.getTime() || (a.commandId < b.commandId ? 1 : a.commandId > b.commandId ? -1 : 0);
}

const isAfter = (row: CommandPosition, after: CommandPosition | null) => !after || newestFirst(after, row) < 0;

function matches(row: ListedCommand, filter: CommandFilter): boolean {
  return (
    (filter.commandId === undefined || row.commandId === filter.commandId) &&
    (filter.status === undefined || row.status === filter.status) &&
    (filter.type === undefined || row.type === filter.type) &&
    (filter.errorCode === undefined || row.error?.code === filter.errorCode) &&
    (filter.since === undefined || row.finishedAt >= filter.since) &&
    (filter.until === undefined || row.finishedAt < filter.until)
  );
}

/** The listed commands kept in an array, with the calls that changed them. */
export class InMemoryCommandRecords implements CommandRecords {
  readonly rows: ListedCommand[] = [];
  readonly calls: string[] = [];

  add(commandId: string, status: ListedCommandStatus, finishedAt: Date, type = 'PlaceOrder'): ListedCommand {
    const row: ListedCommand = {
      commandId,
      type,
      status,
      finishedAt,
      attempts: status === 'succeeded' ? 1 : 3,
      error: status === 'failed' ? { code: 'insufficient_stock', message: 'no' } : status === 'succeeded' ? null : { code: 'infrastructure_error', message: 'down' },
      aggregate: `order:${commandId}`,
      retriedAt: null,
    };
    this.rows.push(row);
    return row;
  }

  async list(filter: CommandFilter, after: CommandPosition | null, limit: number): Promise<ListedCommand[]> {
    return this.rows.filter((row) => matches(row, filter) && isAfter(row, after)).sort(newestFirst).slice(0, limit);
  }

  async count(filter: CommandFilter): Promise<number> {
    return this.rows.filter((row) => matches(row, filter)).length;
  }

  async gaveUp(filter: CommandFilter, after: CommandPosition | null, limit: number): Promise<GaveUpCommandRecord[]> {
    this.calls.push('gaveUp');
    return this.rows
      .filter((row) => (row.status === 'gave_up' || row.status === 'retrying') && matches(row, filter) && isAfter(row, after))
      .sort(newestFirst)
      .slice(0, limit)
      .map((row) => ({ commandId: row.commandId, type: row.type, payload: { commandId: row.commandId }, finishedAt: row.finishedAt }));
  }

  async markRetried(commandIds: readonly string[], at: Date): Promise<void> {
    this.calls.push(`markRetried ${commandIds.length}`);
    for (const row of this.rows) {
      if (commandIds.includes(row.commandId)) Object.assign(row, { status: 'retrying', retriedAt: at });
    }
  }
}

/** A queue that re-queues every command except those named in `inFlight`, and remembers each. */
export class RecordingRequeue implements CommandRequeue {
  readonly requeued: string[] = [];
  readonly asked: string[] = [];

  constructor(
    private readonly calls: string[],
    readonly inFlight = new Set<string>(),
  ) {}

  async requeue(command: GaveUpCommandRecord): Promise<boolean> {
    this.calls.push(`requeue ${command.commandId}`);
    if (this.inFlight.has(command.commandId)) return false;
    this.requeued.push(command.commandId);
    this.inFlight.add(command.commandId);
    return true;
  }

  async canRequeue(command: GaveUpCommandRecord): Promise<boolean> {
    this.asked.push(command.commandId);
    return !this.inFlight.has(command.commandId);
  }
}
