import { AggregateRoot, type AggregateType } from './events.js';
import { InsufficientStockError, InvalidValueError } from './errors.js';
import { assertId } from './id.js';
import { Money } from './money.js';
import { MAX_QUANTITY, Quantity } from './quantity.js';
import { assertName } from './user.js';

/** Most units a product can hold; far inside the 32-bit stock column. */
export const MAX_STOCK = 1_000_000_000;

/** A stock-keeping unit: 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit. */
export const SKU_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class Product extends AggregateRoot {
  readonly id: string;
  readonly sku: string;
  readonly name: string;
  // Stored as primitives so the mapping stays a plain row; exposed as Money.
  private priceMinor: number;
  private currency: string;
  private stockLevel: number;
  readonly createdAt: Date;
  private updatedAt: Date;

  private constructor(props: {
    id: string;
    sku: string;
    name: string;
    price: Money;
    stock: number;
    now: Date;
  }) {
    super();
    this.id = props.id;
    this.sku = props.sku;
    this.name = props.name;
    this.priceMinor = props.price.minor;
    this.currency = props.price.currency;
    this.stockLevel = props.stock;
    this.createdAt = props.now;
    this.updatedAt = props.now;
  }

  static add(input: { id: string; sku: string; name: string; price: Money; stock: number; now: Date }): Product {
    if (!SKU_PATTERN.test(input.sku)) {
      throw new InvalidValueError(`sku must be 1 to 64 letters, digits, ".", "_" or "-", got "${input.sku}"`);
    }
    if (!Number.isInteger(input.stock) || input.stock < 0 || input.stock > MAX_QUANTITY) {
      throw new InvalidValueError(`initial stock must be a whole number from 0 to ${MAX_QUANTITY}`);
    }
    const product = new Product({ ...input, id: assertId(input.id, 'productId'), name: assertName(input.name) });
    product.record({
      type: 'product.added',
      occurredAt: input.now,
      payload: {
        productId: product.id,
        sku: product.sku,
        name: product.name,
        price: input.price.toJSON(),
        stock: product.stock,
      },
    });
    return product;
  }

  get price(): Money {
    return Money.ofMinor(this.priceMinor, this.currency);
  }

  get stock(): number {
    return this.stockLevel;
  }

  restock(quantity: Quantity, now: Date): void {
    if (this.stockLevel + quantity.value > MAX_STOCK) {
      throw new InvalidValueError(`stock of ${this.id} would exceed ${MAX_STOCK} units`);
    }
    this.stockLevel += quantity.value;
    this.updatedAt = now;
    this.record({
      type: 'product.restocked',
      occurredAt: now,
      payload: { productId: this.id, quantity: quantity.value, stock: this.stockLevel },
    });
  }

  /** Takes units out of stock for an order; refuses to go below zero. */
  reserve(quantity: Quantity, now: Date): void {
    if (quantity.value > this.stockLevel) {
      throw new InsufficientStockError(this.id, quantity.value, this.stockLevel);
    }
    this.stockLevel -= quantity.value;
    this.updatedAt = now;
  }

  /** Puts units reserved by a cancelled order back into stock. */
  release(quantity: Quantity, now: Date): void {
    this.stockLevel += quantity.value;
    this.updatedAt = now;
  }

  protected get aggregateType(): AggregateType {
    return 'product';
  }
}
