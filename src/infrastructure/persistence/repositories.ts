import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import type { AggregateRoot, Order, Product, User } from '../../domain/index.js';
import type {
  OrderRepository,
  ProductRepository,
  Repositories,
  UserRepository,
} from '../../application/ports/repositories.js';
import { OrderSchema, ProductSchema, UserSchema } from './schemas.js';

/** Aggregates touched in one unit of work, whose events become outbox rows on commit. */
export type Tracked = Set<AggregateRoot>;

function track<T extends AggregateRoot | null>(tracked: Tracked, aggregate: T): T {
  if (aggregate) tracked.add(aggregate);
  return aggregate;
}

export class MikroOrmUserRepository implements UserRepository {
  constructor(
    private readonly em: EntityManager,
    private readonly tracked: Tracked,
  ) {}

  async findById(id: string): Promise<User | null> {
    return track(this.tracked, (await this.em.findOne(UserSchema, { id })) as User | null);
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
    const rows = (await this.em.find(
      ProductSchema,
      { id: { $in: unique } },
      { orderBy: { id: 'asc' }, lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
    )) as unknown as Product[];
    return new Map(rows.map((product) => [product.id, track(this.tracked, product)]));
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
    const order = (await this.em.findOne(
      OrderSchema,
      { id },
      { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
    )) as Order | null;
    return track(this.tracked, order);
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
