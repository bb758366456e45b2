import { AggregateRoot, type AggregateType, type EventType } from './events.js';
import { InsufficientStockError, InvalidTransitionError, InvalidValueError, NotFoundError } from './errors.js';
import { assertId } from './id.js';
import { Money } from './money.js';
import type { Product } from './product.js';
import { Quantity } from './quantity.js';

export const ORDER_STATUSES = ['pending', 'confirmed', 'shipped', 'delivered', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const MAX_ORDER_LINES = 100;
export const MAX_REASON_LENGTH = 500;
/** The cancellation reason of an order that expired (`Order.expire`). */
export const EXPIRY_REASON = 'not confirmed in time';

/** A line of an order: the unit price is captured when the order is placed. */
export interface OrderItem {
  readonly productId: string;
  readonly sku: string;
  readonly name: string;
  readonly quantity: number;
  readonly unitPriceMinor: number;
}

export interface OrderLineRequest {
  readonly productId: string;
  readonly quantity: number;
}

type Action = 'confirm' | 'ship' | 'deliver' | 'cancel';

// The whole status machine in one table: action -> (allowed from) -> to.
const TRANSITIONS: Record<Action, { from: readonly OrderStatus[]; to: OrderStatus; event: EventType }> = {
  confirm: { from: ['pending'], to: 'confirmed', event: 'order.confirmed' },
  ship: { from: ['confirmed'], to: 'shipped', event: 'order.shipped' },
  deliver: { from: ['shipped'], to: 'delivered', event: 'order.delivered' },
  cancel: { from: ['pending', 'confirmed'], to: 'cancelled', event: 'order.cancelled' },
};

export class Order extends AggregateRoot {
  readonly id: string;
  readonly userId: string;
  private state: OrderStatus;
  private lines: OrderItem[];
  private totalMinor: number;
  readonly currency: string;
  readonly placedAt: Date;
  private updatedAt: Date;
  private cancelReason?: string | null;

  private constructor(props: {
    id: string;
    userId: string;
    items: OrderItem[];
    total: Money;
    now: Date;
  }) {
    super();
    this.id = props.id;
    this.userId = props.userId;
    this.state = 'pending';
    this.lines = props.items;
    this.totalMinor = props.total.minor;
    this.currency = props.total.currency;
    this.placedAt = props.now;
    this.updatedAt = props.now;
    this.cancelReason = null;
  }

  /**
   * Places an order: every line must name a distinct known product and a positive quantity,
   * all products must share one currency, and each product's stock is reserved (the whole
   * order fails if any line cannot be served). Unit prices are captured now.
   *
   * `products` must hold every product the lines name, loaded (and locked) by the caller.
   */
  static place(input: {
    id: string;
    userId: string;
    lines: readonly OrderLineRequest[];
    products: ReadonlyMap<string, Product>;
    now: Date;
  }): Order {
    if (input.lines.length === 0 || input.lines.length > MAX_ORDER_LINES) {
      throw new InvalidValueError(`an order has 1 to ${MAX_ORDER_LINES} lines, got ${input.lines.length}`);
    }
    const id = assertId(input.id, 'orderId');
    const userId = assertId(input.userId, 'userId');
    // Check every line before touching any stock, so a refused order changes nothing.
    const seen = new Set<string>();
    const lines: { product: Product; quantity: Quantity }[] = [];
    for (const line of input.lines) {
      if (seen.has(line.productId)) {
        throw new InvalidValueError(`product ${line.productId} appears on more than one line`);
      }
      seen.add(line.productId);
      const product = input.products.get(line.productId);
      if (!product) throw new NotFoundError('product', line.productId);
      lines.push({ product, quantity: Quantity.of(line.quantity) });
    }
    let total: Money | undefined;
    for (const { product, quantity } of lines) {
      const lineTotal = product.price.times(quantity.value);
      total = total ? total.add(lineTotal) : lineTotal;
    }
    for (const { product, quantity } of lines) {
      if (quantity.value > product.stock) throw new InsufficientStockError(product.id, quantity.value, product.stock);
    }
    const items: OrderItem[] = lines.map(({ product, quantity }) => {
      product.reserve(quantity, input.now);
      return {
        productId: product.id,
        sku: product.sku,
        name: product.name,
        quantity: quantity.value,
        unitPriceMinor: product.price.minor,
      };
    });
    // lines is non-empty, so total is set.
    const order = new Order({
      id,
      userId,
      items,
      total: total as Money,
      now: input.now,
    });
    order.record({ type: 'order.placed', occurredAt: input.now, payload: order.snapshot() });
    return order;
  }

  get status(): OrderStatus {
    return this.state;
  }

  get items(): readonly OrderItem[] {
    return this.lines;
  }

  get total(): Money {
    return Money.ofMinor(this.totalMinor, this.currency);
  }

  get cancellationReason(): string | null {
    return this.cancelReason ?? null;
  }

  confirm(now: Date): void {
    this.transition('confirm', now);
  }

  ship(now: Date): void {
    this.transition('ship', now);
  }

  deliver(now: Date): void {
    this.transition('deliver', now);
  }

  /**
   * Cancels a pending or confirmed order and returns its units to stock. `products` must
   * hold every product of the order (loaded and locked by the caller).
   */
  cancel(reason: string, products: ReadonlyMap<string, Product>, now: Date): void {
    this.assertCan('cancel');
    const trimmed = reason.trim();
    if (trimmed.length === 0 || trimmed.length > MAX_REASON_LENGTH) {
      throw new InvalidValueError(`a cancellation reason has 1 to ${MAX_REASON_LENGTH} characters`);
    }
    const returns = this.lines.map((item) => {
      const product = products.get(item.productId);
      if (!product) throw new NotFoundError('product', item.productId);
      return { product, quantity: Quantity.of(item.quantity) };
    });
    for (const { product, quantity } of returns) product.release(quantity, now);
    this.cancelReason = trimmed;
    this.transition('cancel', now, { reason: trimmed });
  }

  /**
   * The confirmation deadline has passed: a pending order is cancelled with the reason
   * `not confirmed in time` (its units go back to stock, `order.cancelled` is recorded), and
   * true is returned. An order that is no longer pending (confirmed, shipped, delivered or
   * already cancelled) is left exactly as it is, and false is returned: an expiry is not an
   * error, it simply came too late to matter. `products` must hold every product of the order
   * (loaded and locked by the caller) when it is pending.
   */
  expire(products: ReadonlyMap<string, Product>, now: Date): boolean {
    if (this.state !== 'pending') return false;
    this.cancel(EXPIRY_REASON, products, now);
    return true;
  }

  /** The order as event payload: plain JSON with money as decimal strings. */
  snapshot(): Record<string, unknown> {
    return {
      orderId: this.id,
      userId: this.userId,
      status: this.state,
      items: this.lines.map((item) => ({
        productId: item.productId,
        sku: item.sku,
        name: item.name,
        quantity: item.quantity,
        unitPrice: Money.ofMinor(item.unitPriceMinor, this.currency).toJSON(),
      })),
      total: this.total.toJSON(),
    };
  }

  private assertCan(action: Action): void {
    if (!TRANSITIONS[action].from.includes(this.state)) throw new InvalidTransitionError(this.state, action);
  }

  private transition(action: Action, now: Date, extra: Record<string, unknown> = {}): void {
    this.assertCan(action);
    const { to, event } = TRANSITIONS[action];
    this.state = to;
    this.updatedAt = now;
    this.record({ type: event, occurredAt: now, payload: { ...this.snapshot(), ...extra } });
  }

  protected get aggregateType(): AggregateType {
    return 'order';
  }
}
