import type { EntityManager } from '@mikro-orm/postgresql';
import type { AggregateRoot, Order, Product, User } from '../../domain/index.js';
import type {
  OrderRepository,
  ProductRepository,
  Repositories,
  UserRepository,
} from '../../application/commerce/ports/repositories.js';
import { OrderSchema, ProductSchema, UserSchema } from './schemas.js';

/** Aggregates touched in one unit of work, whose events become outbox rows on commit. */
export type Tracked = Set<AggregateRoot>;

function track<T extends AggregateRoot | null>(tracked: Tracked, aggregate: T): T {
  if (aggregate) tracked.add(aggregate);
  return aggregate;
}

// Loads are one plain SELECT each, turned into managed entities with `em.map` (so the unit
// of work still tracks and flushes their changes): MikroORM's query builder cost more CPU per
// command than the queries themselves (docs/benchmarks.md).

export class MikroOrmUserRepository implements UserRepository {
  constructor(
    private readonly em: EntityManager,
    private readonly tracked: Tracked,
  ) {}

  async findById(id: string): Promise<User | null> {
    const [row] = await this.em.execute<Record<string, unknown>[]>('select * from users where id = ?', [id]);
    return row ? track(this.tracked, this.em.map(UserSchema, row) as unknown as User) : null;
  }

  add(user: User): void {
    this.em.persist(track(this.tracked, user));
  }
}

export class MikroOrmProductRepository implements ProductRepository {
  constructor(
    private readonly em: EntityManager,
    private readonly tracked: Tracked,
  ) {}

  async findManyForUpdate(ids: readonly string[]): Promise<Map<string, Product>> {
    const unique = [...new Set(ids)].sort();
    if (unique.length === 0) return new Map();
    // ORDER BY id with FOR UPDATE: PostgreSQL locks rows in the sorted order, so two
    // transactions that need the same products queue up instead of deadlocking.
    const rows = await this.em.execute<Record<string, unknown>[]>(
      `select * from products where id in (${unique.map(() => '?').join(', ')}) order by id for update`,
      unique,
    );
    const products = rows.map((row) => this.em.map(ProductSchema, row) as unknown as Product);
    return new Map(products.map((product) => [product.id, track(this.tracked, product)]));
  }

  add(product: Product): void {
    this.em.persist(track(this.tracked, product));
  }
}

export class MikroOrmOrderRepository implements OrderRepository {
  constructor(
    private readonly em: EntityManager,
    private readonly tracked: Tracked,
  ) {}

  async findByIdForUpdate(id: string): Promise<Order | null> {
    const [row] = await this.em.execute<Record<string, unknown>[]>('select * from orders where id = ? for update', [id]);
    return row ? track(this.tracked, this.em.map(OrderSchema, row) as unknown as Order) : null;
  }

  add(order: Order): void {
    this.em.persist(track(this.tracked, order));
  }
}

export function mikroOrmRepositories(em: EntityManager, tracked: Tracked): Repositories {
  return {
    users: new MikroOrmUserRepository(em, tracked),
    products: new MikroOrmProductRepository(em, tracked),
    orders: new MikroOrmOrderRepository(em, tracked),
  };
}
