import type { DefaultJobOptions } from 'bullmq';
import { z } from 'zod';
import { commandPayloads, type CommandPayload, type CommandType } from './commands.js';

// The contract of recurring schedules on the `commands` queue
// (docs/adr/0007-recurring-schedules-and-order-expiry.md): which commands a schedule may run and
// with what body, and the tick job BullMQ's job scheduler adds at each tick, which the command
// worker turns into the run's command.

/**
 * The command types a schedule may run: the body each run gets (the command's payload without
 * its command id) and the aggregate id each run gets anew, derived from the tick so that a tick
 * delivered twice gives the same one. The others are left out on purpose: RegisterUser and
 * AddProduct would fail from the second run on (email and sku are unique), and ExpireOrder is
 * internal.
 */
export const SCHEDULABLE_COMMANDS = {
  /** The product id comes with the body: the same product is restocked on every run. */
  RestockProduct: { body: commandPayloads.RestockProduct.omit({ commandId: true }), newId: null },
  /** A standing order: every run places a new order, with an order id of its own. */
  PlaceOrder: { body: commandPayloads.PlaceOrder.omit({ commandId: true, orderId: true }), newId: 'orderId' },
  ConfirmOrder: { body: commandPayloads.ConfirmOrder.omit({ commandId: true }), newId: null },
  ShipOrder: { body: commandPayloads.ShipOrder.omit({ commandId: true }), newId: null },
  DeliverOrder: { body: commandPayloads.DeliverOrder.omit({ commandId: true }), newId: null },
  CancelOrder: { body: commandPayloads.CancelOrder.omit({ commandId: true }), newId: null },
} as const satisfies { readonly [T in CommandType]?: { readonly body: z.ZodType; readonly newId: keyof CommandPayload<T> | null } };

export type SchedulableCommandType = keyof typeof SCHEDULABLE_COMMANDS;
export const SCHEDULABLE_COMMAND_TYPES = Object.keys(SCHEDULABLE_COMMANDS) as SchedulableCommandType[];

const scheduledCommand = <T extends SchedulableCommandType>(type: T) =>
  z.strictObject({ type: z.literal(type), body: SCHEDULABLE_COMMANDS[type].body });

/** A schedule's command: `{type, body}`, the body checked as that command's payload would be. */
export const scheduledCommandSchema = z.discriminatedUnion(
  'type',
  SCHEDULABLE_COMMAND_TYPES.map((type) => scheduledCommand(type)) as unknown as [
    ReturnType<typeof scheduledCommand<SchedulableCommandType>>,
    ...ReturnType<typeof scheduledCommand<SchedulableCommandType>>[],
  ],
);
export type ScheduledCommandInput = z.output<typeof scheduledCommandSchema>;

/** Job name of a tick: BullMQ's job scheduler adds one job of it per tick, job id `repeat:<schedule id>:<tick ms>`. */
export const SCHEDULE_TICK_JOB = 'ScheduleTick';

const id = () => z.uuid().toLowerCase();

/** Data of a tick job: the scheduler's template, the same for every tick of a schedule. */
export const scheduleTickPayload = z.strictObject({
  scheduleId: id(),
  command: z.strictObject({ type: z.string(), body: z.record(z.string(), z.unknown()) }),
});
export type ScheduleTickData = z.output<typeof scheduleTickPayload>;

/**
 * A tick job only turns into its run's command, which keeps its own job and history: ticks are
 * kept for an hour (a schedule every second still leaves at most a few thousand), failed
 * ones for a week. Retries and backoff are those of command jobs (the queue's defaults).
 */
export const scheduleTickJobOptions: DefaultJobOptions = {
  removeOnComplete: { age: 3600, count: 5000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
};

/**
 * The run's command of a tick, checked against the contract: the body plus the run's command
 * id and, for commands that create an aggregate, a new aggregate id from `newId(field)`.
 * Throws a ZodError when the command is not one a schedule may run or its body is refused.
 */
export function runCommandOf(
  command: { type: string; body: Record<string, unknown> },
  commandId: string,
  newId: (field: string) => string,
): { type: CommandType; payload: CommandPayload } {
  const { type, body } = scheduledCommandSchema.parse(command);
  const field = SCHEDULABLE_COMMANDS[type].newId;
  const payload = commandPayloads[type].parse({ ...body, commandId, ...(field ? { [field]: newId(field) } : {}) });
  return { type, payload };
}

/** What is wrong with a command a schedule would run (the first problem, with its path), or null. */
export function scheduledCommandProblem(command: { type: string; body: Record<string, unknown> }): string | null {
  const parsed = scheduledCommandSchema.safeParse(command);
  if (parsed.success) return null;
  const [issue] = parsed.error.issues;
  return issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid command';
}
