import type { BackoffStrategy, DefaultJobOptions } from 'bullmq';
import { z } from 'zod';
import {
  MAX_EMAIL_LENGTH,
  MAX_NAME_LENGTH,
  MAX_ORDER_LINES,
  MAX_QUANTITY,
  MAX_REASON_LENGTH,
  Money,
  SKU_PATTERN,
  isCurrencyCode,
} from '../src/domain/index.js';

// The contract of the `commands` queue: its name, its job names (one per command type), the
// payload of each, and the job options with their backoff.
//
// The shapes of every command, shared by the HTTP routes (which validate bodies with them and
// generate the OpenAPI document from them) and the command worker (which parses job payloads
// again with them). One source of truth.

const id = () => z.uuid().toLowerCase();
const name = () => z.string().trim().min(1).max(MAX_NAME_LENGTH);

export const moneySchema = z
  .strictObject({
    amount: z
      .string()
      .regex(/^(0|[1-9]\d{0,14})(\.\d{1,4})?$/, 'must be a decimal string such as "12.50"')
      .describe('decimal amount as a string, never a float'),
    currency: z
      .string()
      .length(3)
      .refine(isCurrencyCode, 'must be an ISO 4217 currency code in upper case, such as "EUR"'),
  })
  .superRefine((value, ctx) => {
    if (!isCurrencyCode(value.currency)) return;
    try {
      Money.parse(value.amount, value.currency);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['amount'], message: (error as Error).message });
    }
  });

const quantity = () => z.int().min(1).max(MAX_QUANTITY);

export const registerUserBody = z.strictObject({
  email: z.email().max(MAX_EMAIL_LENGTH),
  name: name(),
});

export const addProductBody = z.strictObject({
  sku: z
    .string()
    .regex(SKU_PATTERN, 'must be 1 to 64 letters, digits, ".", "_" or "-"'),
  name: name(),
  price: moneySchema,
  stock: z.int().min(0).max(MAX_QUANTITY),
});

export const restockProductBody = z.strictObject({ quantity: quantity() });

export const placeOrderBody = z.strictObject({
  userId: id(),
  items: z
    .array(z.strictObject({ productId: id(), quantity: quantity() }))
    .min(1)
    .max(MAX_ORDER_LINES)
    .refine(
      (items) => new Set(items.map((item) => item.productId)).size === items.length,
      'each product may appear on one line only',
    ),
});

export const emptyBody = z.strictObject({});
export const cancelOrderBody = z.strictObject({ reason: z.string().trim().min(1).max(MAX_REASON_LENGTH) });

/** Name of the queue the web process puts commands on and the `worker` role runs. */
export const COMMANDS_QUEUE = 'commands';

const commandId = id();

/**
 * Job payloads on the `commands` queue: the body, the ids assigned at intake, the command id.
 * The job name is the command type (a key of this object); the job id is the command id.
 */
export const commandPayloads = {
  RegisterUser: registerUserBody.extend({ commandId, userId: id() }),
  AddProduct: addProductBody.extend({ commandId, productId: id() }),
  RestockProduct: restockProductBody.extend({ commandId, productId: id() }),
  PlaceOrder: placeOrderBody.extend({ commandId, orderId: id() }),
  ConfirmOrder: emptyBody.extend({ commandId, orderId: id() }),
  ShipOrder: emptyBody.extend({ commandId, orderId: id() }),
  DeliverOrder: emptyBody.extend({ commandId, orderId: id() }),
  CancelOrder: cancelOrderBody.extend({ commandId, orderId: id() }),
  // Internal: the relay schedules it when an order is placed (ORDER_CONFIRMATION_TIMEOUT
  // later); no HTTP route sends it. Its command id is derived from the order id, so the relay
  // adding it again leaves one job.
  ExpireOrder: emptyBody.extend({ commandId, orderId: id() }),
} as const;

export type CommandType = keyof typeof commandPayloads;
export const COMMAND_TYPES = Object.keys(commandPayloads) as CommandType[];

/** Commands the platform sends itself: on the queue like any other, but with no HTTP route. */
export const INTERNAL_COMMAND_TYPES = ['ExpireOrder'] as const satisfies readonly CommandType[];
/** Commands a client sends over HTTP (docs/design.md §3). */
export type PublicCommandType = Exclude<CommandType, (typeof INTERNAL_COMMAND_TYPES)[number]>;
export const PUBLIC_COMMAND_TYPES = COMMAND_TYPES.filter(
  (type): type is PublicCommandType => !(INTERNAL_COMMAND_TYPES as readonly string[]).includes(type),
);
export type CommandPayload<T extends CommandType = CommandType> = z.output<(typeof commandPayloads)[T]>;

export function isCommandType(value: string): value is CommandType {
  return Object.hasOwn(commandPayloads, value);
}

/**
 * Per-aggregate FIFO (docs/adr/0006-per-aggregate-ordering.md): the aggregate each command type
 * applies to. Commands with the same key run in the order the intake accepted them; commands
 * with different keys run in parallel. A new command type without a key is a compile error.
 */
export const COMMAND_ORDERING_KEYS: { readonly [T in CommandType]: (payload: CommandPayload<T>) => string } = {
  RegisterUser: (payload) => `user:${payload.userId}`,
  AddProduct: (payload) => `product:${payload.productId}`,
  RestockProduct: (payload) => `product:${payload.productId}`,
  PlaceOrder: (payload) => `order:${payload.orderId}`,
  ConfirmOrder: (payload) => `order:${payload.orderId}`,
  ShipOrder: (payload) => `order:${payload.orderId}`,
  DeliverOrder: (payload) => `order:${payload.orderId}`,
  CancelOrder: (payload) => `order:${payload.orderId}`,
  // Internal and scheduled: it takes no place in its order's line (ADR 0006, point 6), but has its key.
  ExpireOrder: (payload) => `order:${payload.orderId}`,
};

/** The ordering key of a command: `order:<orderId>`, `user:<userId>` or `product:<productId>`. */
export function orderingKey<T extends CommandType>(type: T, payload: CommandPayload<T>): string {
  return COMMAND_ORDERING_KEYS[type](payload);
}

/**
 * The job's own fields next to the command payload: `after` is the command id of the command
 * of the same ordering key accepted just before this one (absent for the first of its key, or
 * with ordering off); the worker runs this command only once `after` has an outcome.
 */
export const commandJobFields = z.strictObject({
  after: id().optional(),
  /** The API key that sent the command (docs/adr/0011-api-keys-and-scopes.md): its id and its name then. */
  sentBy: z.strictObject({ keyId: z.string().min(1).max(64), name: z.string().min(1).max(100) }).optional(),
});

/** Who sent a command: the API key's id and its name when it was sent. */
export type SentBy = NonNullable<z.output<typeof commandJobFields>['sentBy']>;

/** How a command is put on the queue, besides its type and payload. */
export interface SendOptions {
  /** When the command is to run (Run-At, a scheduled command); absent: as soon as a worker takes it. */
  runAt?: Date | undefined;
  /** The API key that sent the command, recorded with it. */
  sentBy?: SentBy | undefined;
  /**
   * The command's aggregate id was assigned by the request that sends it (RegisterUser,
   * AddProduct, PlaceOrder): no command of its ordering key can be ahead of it in line.
   */
  newAggregate?: boolean | undefined;
}

/** The job's own fields (`after`, `sentBy`). */
export type CommandJobFields = z.output<typeof commandJobFields>;

/** Data of a command job: the payload, plus the job's own fields. */
export type CommandJobData<T extends CommandType = CommandType> = CommandPayload<T> & z.output<typeof commandJobFields>;

/** Splits a job's data into the command payload (still to be parsed) and the job's own fields. */
export function splitJobData(data: unknown): { payload: unknown; fields: z.ZodSafeParseResult<z.output<typeof commandJobFields>> } {
  if (typeof data !== 'object' || data === null) return { payload: data, fields: commandJobFields.safeParse({}) };
  const { after, sentBy, ...payload } = data as Record<string, unknown>;
  return {
    payload,
    fields: commandJobFields.safeParse({ ...(after === undefined ? {} : { after }), ...(sentBy === undefined ? {} : { sentBy }) }),
  };
}

/** A job of the `commands` queue: named by its command type, with the command id as its job id. */
export function commandJob<T extends CommandType>(
  type: T,
  data: CommandPayload<T>,
  jobFields: CommandJobFields = {},
): { name: T; data: CommandJobData<T>; opts: { jobId: string } } {
  const fields: CommandJobFields = {
    ...(jobFields.after === undefined ? {} : { after: jobFields.after }),
    ...(jobFields.sentBy === undefined ? {} : { sentBy: jobFields.sentBy }),
  };
  return { name: type, data: Object.assign({}, data, fields), opts: { jobId: data.commandId } };
}

/** Backoff type of command jobs; the command worker registers `commandBackoff` for it. */
export const COMMAND_BACKOFF_TYPE = 'command-backoff';

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 60_000;

/**
 * Exponential from 0.5 s, capped at 60 s, with up to 50 % jitter taken off. Together with 40
 * attempts a command rides out about half an hour of database or Redis outage before it is
 * given up (a plain exponential over so many attempts would wait hours between the last ones).
 */
export const commandBackoff: BackoffStrategy = (attemptsMade) => {
  const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(base * (1 - Math.random() * 0.5));
};

/**
 * Defaults for command jobs. Domain failures are marked unrecoverable by the worker and never
 * retried; these attempts are for infrastructure errors (lost connection, lock conflict).
 * How long finished jobs stay in Redis is configured (queues/retention.ts, RETENTION_COMMAND_JOBS_*)
 * and set as the queue's default; the durable outcome lives in PostgreSQL (processed_commands).
 */
export const commandJobOptions: DefaultJobOptions = {
  attempts: 40,
  backoff: { type: COMMAND_BACKOFF_TYPE },
};

/**
 * The longest a command job can wait between its attempts in all: the longest backoff before
 * each retry (jitter only shortens it), summed over its attempts. About 33 minutes.
 */
export function commandRetryBudgetMs(attempts = commandJobOptions.attempts ?? 1): number {
  let total = 0;
  for (let n = 1; n < attempts; n++) total += Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (n - 1));
  return total;
}

/**
 * How long the intake remembers a key's line after its last command (ADR 0006): a command
 * accepted within this time after another on the same order, user or product runs only once
 * that one has an outcome in processed_commands. Far longer than any command job can wait in
 * Redis (`commandRetryBudgetMs`), so a command is never ordered after nothing while its
 * predecessor can still run; processed_commands rows outlive it (queues/retention.ts).
 */
export const ORDERING_LINE_TTL_SECONDS = 24 * 3600;
