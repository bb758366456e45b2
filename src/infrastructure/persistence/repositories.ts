import type { EntityManager, EntitySchema } from '@mikro-orm/postgresql';
import type { AggregateRoot, Order, Product, User } from '../../domain/index.js';
import type {
  OrderRepository,
  ProductRepository,
  Repositories,
  UserRepository,
} from '../../application/commerce/ports/repositories.js';
import { OrderSchema, ProductSchema, UserSchema } from './schemas.js';
import { RESULTS, SEPARATOR, pipelining } from './pipelined-statements.js';

/** Aggregates touched in one unit of work, whose events become outbox rows on commit. */
export type Tracked = Set<AggregateRoot>;

function track<T extends AggregateRoot | null>(tracked: Tracked, aggregate: T): T {
  if (aggregate) tracked.add(aggregate);
  return aggregate;
}

// Loads are one plain SELECT each, turned into managed entities with `em.map` (so the unit
// of work still tracks and flushes their changes): MikroORM's query builder cost more CPU per
// command than the queries themselves (docs/benchmarks.md).

type Row = Record<string, unknown>;

/** A read asked by work the unit of work has dropped (a redelivered command started early). */
export class ReadsClosedError extends Error {
  constructor() {
    super('the unit of work dropped this work: it reads nothing more');
    this.name = 'ReadsClosedError';
  }
}

/**
 * The reads of one unit of work. Reads asked in the same turn (a use case's `Promise.all`)
 * travel to PostgreSQL as one query of several statements when the unit of work pipelines its
 * statements (ADR 0016), each caller getting its own rows; otherwise, and for a read asked
 * alone, each is one `em.execute`. They run in the order they were asked: two reads that lock
 * rows (`FOR UPDATE`) asked together lock in that order, so a use case keeps its lock order as
 * it would awaiting them one by one.
 */
export class Reads {
  private waiting: { sql: string; params: unknown[]; resolve: (rows: Row[]) => void; reject: (error: unknown) => void }[] = [];
  private closed = false;

  constructor(private readonly em: EntityManager) {}

  /** Refuses every later read (ReadsClosedError): the unit of work dropped the work reading. */
  close(): void {
    this.closed = true;
  }

  read(sql: string, params: unknown[]): Promise<Row[]> {
    if (this.closed) return Promise.reject(new ReadsClosedError());
    if (!pipelining()) return this.em.execute<Row[]>(sql, params);
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) queueMicrotask(() => void this.send());
      this.waiting.push({ sql, params, resolve, reject });
    });
  }

  private async send(): Promise<void> {
    const waiting = this.waiting;
    this.waiting = [];
    try {
      if (waiting.length === 1) {
        const [only] = waiting;
        only!.resolve(await this.em.execute<Row[]>(only!.sql, only!.params));
        return;
      }
      const each = await this.em.execute<Row[][]>(
        `${RESULTS} ${waiting.map((item) => item.sql).join(SEPARATOR)}`,
        waiting.flatMap((item) => item.params),
      );
      // One array of rows per read, or the client did not understand RESULTS: never guess.
      if (!Array.isArray(each) || each.length !== waiting.length || !each.every(Array.isArray)) {
        throw new Error(`reads sent together came back as ${Array.isArray(each) ? each.length : typeof each} results for ${waiting.length}`);
      }
      waiting.forEach((item, i) => item.resolve(each[i]!));
    } catch (error) {
      for (const item of waiting) item.reject(error);
    }
  }
}

/** A row read ahead (`mapped: false`, as PostgreSQL returned it) or the state a command wrote (`mapped: true`, property names). */
interface Ahead {
  data: Row;
  mapped: boolean;
}

/**
 * Rows a group transaction read ahead, in its first round trip, for all of its commands
 * (docs/adr/0005-group-commit.md, "Read-ahead"): the products it locked (`FOR UPDATE`, so no
 * other transaction changes them until it ends) and users (never changed once registered). A
 * command's repositories take an aggregate from here instead of reading it again; after each
 * command's flush the unit of work puts back the state it wrote (`wrote`), so the next command
 * of the group sees it, as it would have read it. Only what is here is served: anything else —
 * an aggregate created earlier in the group, one that does not exist — is read as before.
 */
export class RowsAhead {
  /** By the aggregate's class, then its id. */
  private readonly rows = new Map<unknown, Map<string, Ahead>>();

  /** Rows as PostgreSQL returned them, of `schema`'s table. */
  add(schema: EntitySchema, rows: Row[]): void {
    const ofClass = this.ofClass(schema.meta.class);
    for (const row of rows) ofClass.set(row.id as string, { data: row, mapped: false });
  }

  has(schema: EntitySchema, id: string): boolean {
    return this.rows.get(schema.meta.class)?.has(id) ?? false;
  }

  /** A managed aggregate of `em` made from the row read ahead, or undefined when there is none. */
  load<T>(em: EntityManager, schema: EntitySchema, id: string): T | undefined {
    const entry = this.rows.get(schema.meta.class)?.get(id);
    // A copy: the fork keeps what it is given as the aggregate's snapshot.
    return entry ? (em.map(schema, structuredClone(entry.data), { mapped: entry.mapped }) as T) : undefined;
  }

  /** After `em` flushed: the state it wrote of each tracked aggregate held here replaces its row. */
  wrote(em: EntityManager, tracked: Tracked): void {
    const comparator = em.getComparator();
    for (const aggregate of tracked) {
      const ofClass = this.rows.get(aggregate.constructor);
      if (ofClass?.has(aggregate.id)) ofClass.set(aggregate.id, { data: comparator.prepareEntity(aggregate), mapped: true });
    }
  }

  private ofClass(cls: unknown): Map<string, Ahead> {
    let ofClass = this.rows.get(cls);
    if (!ofClass) this.rows.set(cls, (ofClass = new Map<string, Ahead>()));
    return ofClass;
  }
}

/** What the three repositories share: the entity manager, the aggregates the unit of work tracks, and how one is added or loaded. */
abstract class MikroOrmRepository<T extends AggregateRoot> {
  constructor(
    protected readonly em: EntityManager,
    protected readonly tracked: Tracked,
    protected readonly reads: Reads,
    protected readonly ahead: RowsAhead | undefined,
  ) {}

  add(aggregate: T): void {
    this.em.persist(track(this.tracked, aggregate));
  }

  /** Loads the one row `sql` selects by `id` as a managed, tracked aggregate; null when there is none. */
  protected async loadOne(schema: EntitySchema, sql: string, id: string): Promise<T | null> {
    const ahead = this.ahead?.load<T>(this.em, schema, id);
    if (ahead) return track(this.tracked, ahead);
    const [row] = await this.reads.read(sql, [id]);
    return row ? track(this.tracked, this.em.map(schema, row) as unknown as T) : null;
  }
}

export class MikroOrmUserRepository extends MikroOrmRepository<User> implements UserRepository {
  findById(id: string): Promise<User | null> {
    return this.loadOne(UserSchema, 'select * from users where id = ?', id);
  }
}

export class MikroOrmProductRepository extends MikroOrmRepository<Product> implements ProductRepository {
  async findManyForUpdate(ids: readonly string[]): Promise<Map<string, Product>> {
    const unique = [...new Set(ids)].sort();
    if (unique.length === 0) return new Map();
    // Locked already by the group's first statement, and read with it.
    if (this.ahead && unique.every((id) => this.ahead!.has(ProductSchema, id))) {
      return new Map(unique.map((id) => [id, track(this.tracked, this.ahead!.load<Product>(this.em, ProductSchema, id)!)]));
    }
    // ORDER BY id with FOR UPDATE: PostgreSQL locks rows in the sorted order, so two
    // transactions that need the same products queue up instead of deadlocking.
    const rows = await this.reads.read(`select * from products where id in (${unique.map(() => '?').join(', ')}) order by id for update`, unique);
    const products = rows.map((row) => this.em.map(ProductSchema, row) as unknown as Product);
    return new Map(products.map((product) => [product.id, track(this.tracked, product)]));
  }
}

export class MikroOrmOrderRepository extends MikroOrmRepository<Order> implements OrderRepository {
  findByIdForUpdate(id: string): Promise<Order | null> {
    return this.loadOne(OrderSchema, 'select * from orders where id = ? for update', id);
  }
}

/**
 * The repositories of one unit of work; `reads` may already hold a read of the caller's, to
 * travel with theirs; `ahead` holds what the caller's group read ahead for it.
 */
export function mikroOrmRepositories(em: EntityManager, tracked: Tracked, reads = new Reads(em), ahead?: RowsAhead): Repositories {
  return {
    users: new MikroOrmUserRepository(em, tracked, reads, ahead),
    products: new MikroOrmProductRepository(em, tracked, reads, ahead),
    orders: new MikroOrmOrderRepository(em, tracked, reads, ahead),
  };
}
