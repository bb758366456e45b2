import type { Order, Product, User } from '../../../domain/index.js';

export interface UserRepository {
  findById(id: string): Promise<User | null>;
  /** Adds a new user; a taken email surfaces as `EmailTakenError` at the latest on commit. */
  add(user: User): void;
}

export interface ProductRepository {
  /**
   * Loads the given products and locks them for the rest of the transaction, always in the
   * same (id) order so that two transactions touching the same products cannot deadlock.
   * Unknown ids are simply absent from the result.
   */
  findManyForUpdate(ids: readonly string[]): Promise<Map<string, Product>>;
  /** Adds a new product; a taken sku surfaces as `SkuTakenError` at the latest on commit. */
  add(product: Product): void;
}

export interface OrderRepository {
  /** Loads an order and locks it for the rest of the transaction. */
  findByIdForUpdate(id: string): Promise<Order | null>;
  add(order: Order): void;
}

/** The repositories of one transaction. */
export interface Repositories {
  readonly users: UserRepository;
  readonly products: ProductRepository;
  readonly orders: OrderRepository;
}
