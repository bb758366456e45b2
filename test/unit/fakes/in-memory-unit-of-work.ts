import type {
  OrderRepository,
  ProductRepository,
  Repositories,
  UserRepository,
} from '../../../src/application/commerce/ports/repositories.js';
import type { CommandContext, Json, UnitOfWork } from '../../../src/application/commerce/ports/unit-of-work.js';
import {
  DomainError,
  DuplicateIdError,
  EmailTakenError,
  Order,
  Product,
  RecordedFailureError,
  SkuTakenError,
  User,
  type AggregateRoot,
  type DomainEvent,
} from '../../../src/domain/index.js';

/** An outbox row: a domain event plus the command whose transaction wrote it. */
export interface OutboxMessage extends DomainEvent {
  readonly commandId: string;
}

/** A processed-command row: the stored outcome of a command id. */
export type ProcessedCommand =
  | { readonly commandType: string; readonly status: 'succeeded'; readonly result: Json }
  | { readonly commandType: string; readonly status: 'failed'; readonly error: { code: string; message: string } };

/**
 * A deep copy of an aggregate that keeps its class (so its methods still work) without calling
 * its constructor, the way an ORM hydrates a row. Stored state and the objects handed to a
 * transaction never share anything mutable.
 */
function copy<T extends object>(aggregate: T): T {
  const clone = Object.create(Object.getPrototypeOf(aggregate) as object | null) as T;
  for (const key of Reflect.ownKeys(aggregate)) {
    const descriptor = Object.getOwnPropertyDescriptor(aggregate, key);
    if (!descriptor) continue;
    if ('value' in descriptor) descriptor.value = structuredClone(descriptor.value);
    Object.defineProperty(clone, key, descriptor);
  }
  return clone;
}

/** The working set of one transaction: an identity map per table and the aggregates touched. */
class Transaction {
  readonly users = new Map<string, User>();
  readonly products = new Map<string, Product>();
  readonly orders = new Map<string, Order>();
  /** Every aggregate added or loaded, in that order: their events become outbox rows on commit. */
  readonly touched: AggregateRoot[] = [];
}

/**
 * An in-memory `UnitOfWork` with the contract of the real (PostgreSQL) one:
 * - `run` works on copies of the stored aggregates; the stores change only when the work
 *   succeeds (a thrown error is a rollback);
 * - on success, the events of every aggregate added or loaded become outbox rows and the
 *   outcome is stored under the command id, all at once;
 * - a command id that was already processed is not run again: its first result is returned,
 *   or its first failure (a DomainError) is thrown again as a `RecordedFailureError`;
 * - failures that are not domain errors (infrastructure) are not recorded, so a retry runs;
 * - `users.add` refuses a taken email (`EmailTakenError`), `products.add` a taken sku
 *   (`SkuTakenError`), every `add` a taken id (`DuplicateIdError`);
 * - transactions run one at a time, as row locks would serialise them on the same rows.
 */
export class InMemoryUnitOfWork implements UnitOfWork {
  private readonly users = new Map<string, User>();
  private readonly products = new Map<string, Product>();
  private readonly orders = new Map<string, Order>();
  private readonly processedCommands = new Map<string, ProcessedCommand>();
  private readonly outboxRows: OutboxMessage[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private commitFailure: Error | undefined;
  private workRuns = 0;

  /** The committed outbox rows, oldest first. */
  get outbox(): readonly OutboxMessage[] {
    return this.outboxRows;
  }

  /** How many times a unit of work was actually executed (replays do not count). */
  get executedWork(): number {
    return this.workRuns;
  }

  run<R extends Json>(command: CommandContext, work: (repos: Repositories) => Promise<R>): Promise<R> {
    const result = this.tail.then(() => this.runNow(command, work));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Makes the next commit fail with `error` (an infrastructure failure: connection lost...). */
  failNextCommitWith(error: Error): void {
    this.commitFailure = error;
  }

  /** Stores aggregates as if committed earlier; their pending events are dropped. */
  seed(...aggregates: (User | Product | Order)[]): void {
    for (const aggregate of aggregates) {
      aggregate.pullEvents();
      if (aggregate instanceof User) this.users.set(aggregate.id, copy(aggregate));
      else if (aggregate instanceof Product) this.products.set(aggregate.id, copy(aggregate));
      else this.orders.set(aggregate.id, copy(aggregate));
    }
  }

  /** The committed state (a copy: changing it changes nothing stored). */
  storedUser(id: string): User | undefined {
    const user = this.users.get(id);
    return user && copy(user);
  }

  storedProduct(id: string): Product | undefined {
    const product = this.products.get(id);
    return product && copy(product);
  }

  storedOrder(id: string): Order | undefined {
    const order = this.orders.get(id);
    return order && copy(order);
  }

  storedUsers(): User[] {
    return [...this.users.values()].map(copy);
  }

  storedProducts(): Product[] {
    return [...this.products.values()].map(copy);
  }

  storedOrders(): Order[] {
    return [...this.orders.values()].map(copy);
  }

  processed(commandId: string): ProcessedCommand | undefined {
    const outcome = this.processedCommands.get(commandId);
    return outcome && structuredClone(outcome);
  }

  private async runNow<R extends Json>(
    command: CommandContext,
    work: (repos: Repositories) => Promise<R>,
  ): Promise<R> {
    const earlier = this.processedCommands.get(command.commandId);
    if (earlier?.status === 'succeeded') return structuredClone(earlier.result) as R;
    if (earlier?.status === 'failed') throw new RecordedFailureError(earlier.error.code, earlier.error.message);

    const tx = new Transaction();
    let result: R;
    try {
      this.workRuns += 1;
      result = await work(this.repositories(tx));
      this.failCommitIfAsked();
    } catch (error) {
      // Rollback: nothing of `tx` reaches the stores. A domain error is a permanent outcome
      // and is recorded (in its own transaction); anything else may succeed on a retry.
      if (error instanceof DomainError) {
        this.processedCommands.set(command.commandId, {
          commandType: command.commandType,
          status: 'failed',
          error: { code: error.code, message: error.message },
        });
      }
      throw error;
    }

    for (const aggregate of tx.touched) {
      for (const event of aggregate.pullEvents()) {
        this.outboxRows.push({ ...structuredClone(event), commandId: command.commandId });
      }
    }
    for (const [id, user] of tx.users) this.users.set(id, copy(user));
    for (const [id, product] of tx.products) this.products.set(id, copy(product));
    for (const [id, order] of tx.orders) this.orders.set(id, copy(order));
    this.processedCommands.set(command.commandId, {
      commandType: command.commandType,
      status: 'succeeded',
      result: structuredClone(result),
    });
    return result;
  }

  private failCommitIfAsked(): void {
    const failure = this.commitFailure;
    if (failure) {
      this.commitFailure = undefined;
      throw failure;
    }
  }

  private repositories(tx: Transaction): Repositories {
    const users: UserRepository = {
      findById: async (id) => this.load(tx, tx.users, this.users, id) ?? null,
      add: (user) =>
        this.add(tx, tx.users, this.users, 'user', user, {
          taken: (other) => other.email === user.email,
          error: () => new EmailTakenError(user.email),
        }),
    };
    const products: ProductRepository = {
      findManyForUpdate: async (ids) => {
        const found = new Map<string, Product>();
        for (const id of [...new Set(ids)].sort()) {
          const product = this.load(tx, tx.products, this.products, id);
          if (product) found.set(id, product);
        }
        return found;
      },
      add: (product) =>
        this.add(tx, tx.products, this.products, 'product', product, {
          taken: (other) => other.sku === product.sku,
          error: () => new SkuTakenError(product.sku),
        }),
    };
    const orders: OrderRepository = {
      findByIdForUpdate: async (id) => this.load(tx, tx.orders, this.orders, id) ?? null,
      add: (order) => this.add(tx, tx.orders, this.orders, 'order', order),
    };
    return { users, products, orders };
  }

  /** Identity map: within one transaction an id always yields the same object. */
  private load<T extends AggregateRoot>(
    tx: Transaction,
    working: Map<string, T>,
    stored: Map<string, T>,
    id: string,
  ): T | undefined {
    const inTransaction = working.get(id);
    if (inTransaction) return inTransaction;
    const row = stored.get(id);
    if (!row) return undefined;
    const loaded = copy(row);
    this.track(tx, working, loaded);
    return loaded;
  }

  /**
   * A repository's add: a taken id is a DuplicateIdError; `unique`, when given, is the other key
   * the store keeps unique (its `error` when a stored or pending aggregate has it).
   */
  private add<T extends AggregateRoot>(
    tx: Transaction,
    working: Map<string, T>,
    stored: Map<string, T>,
    kind: string,
    aggregate: T,
    unique?: { taken: (other: T) => boolean; error: () => Error },
  ): void {
    if (stored.has(aggregate.id) || working.has(aggregate.id)) {
      throw new DuplicateIdError(`${kind} id ${aggregate.id} is taken`);
    }
    if (unique && ([...stored.values()].some(unique.taken) || [...working.values()].some(unique.taken))) {
      throw unique.error();
    }
    this.track(tx, working, aggregate);
  }

  private track<T extends AggregateRoot>(tx: Transaction, working: Map<string, T>, aggregate: T): void {
    working.set(aggregate.id, aggregate);
    tx.touched.push(aggregate);
  }
}
