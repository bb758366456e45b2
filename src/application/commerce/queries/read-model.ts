import type { OrderStatus } from '../../../domain/index.js';

// The query side (CQRS): DTOs shaped for the HTTP answers, read with plain SQL by an adapter
// in infrastructure (optionally from a replica). No domain entities are loaded here.

export interface MoneyDto {
  /** Decimal string with the currency's minor digits, e.g. "12.50". */
  amount: string;
  currency: string;
}

export interface OrderItemDto {
  productId: string;
  sku: string;
  name: string;
  quantity: number;
  unitPrice: MoneyDto;
  lineTotal: MoneyDto;
}

export interface OrderDto {
  orderId: string;
  userId: string;
  status: OrderStatus;
  items: OrderItemDto[];
  total: MoneyDto;
  cancellationReason: string | null;
  placedAt: string;
  updatedAt: string;
}

export interface ProductDto {
  productId: string;
  sku: string;
  name: string;
  price: MoneyDto;
  stock: number;
  createdAt: string;
  updatedAt: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

export interface OrderSummaryDto {
  totalOrders: number;
  /** Decimal string; null currency when the user has no orders in the range. */
  totalSpent: string;
  averageOrderValue: string;
  currency: string | null;
}

export interface ProcessedCommandDto {
  commandId: string;
  type: string;
  /** `cancelled`: recorded by DELETE /v1/commands/:id before the command ran; it never will. */
  status: 'succeeded' | 'failed' | 'cancelled';
  result: unknown;
  error: { code: string; message: string } | null;
  processedAt: string;
  /** The name of the API key that sent the command; null or absent when none did (a schedule, the relay) or it is not known. */
  sentBy?: string | null;
}

/** Read-side access to PostgreSQL. */
export interface ReadModel {
  findOrder(orderId: string): Promise<OrderDto | null>;
  listUserOrders(userId: string, page: number, pageSize: number): Promise<Page<OrderDto>>;
  /** Orders placed in [from, to); cancelled orders are not counted as spent. */
  userOrderSummary(userId: string, from: Date | null, to: Date | null): Promise<OrderSummaryDto>;
  findProduct(productId: string): Promise<ProductDto | null>;
  findProcessedCommand(commandId: string): Promise<ProcessedCommandDto | null>;
  /**
   * A command accepted with Run-At, as PostgreSQL recorded it at intake (null for any other):
   * what the status says while Redis has lost its job and the sweeper has not restored it yet.
   */
  findScheduledCommand(commandId: string): Promise<ScheduledCommandDto | null>;
}

export interface ScheduledCommandDto {
  commandId: string;
  type: string;
  runAt: string;
}

/** What the queue knows about a command whose outcome is not in PostgreSQL yet. */
export interface QueuedCommandState {
  commandId: string;
  type: string;
  /**
   * `scheduled`: accepted with Run-At and not due yet (a retry waiting for its backoff is
   * `queued`); `gave_up`: failed after its last attempt on infrastructure errors (retryable:
   * POST /v1/commands/retry).
   */
  state: 'queued' | 'scheduled' | 'running' | 'failed' | 'gave_up' | 'succeeded';
  attempts: number;
  /** When a scheduled command is due (ISO 8601); null unless `state` is scheduled. */
  runAt: string | null;
  /** Why a failed job failed, as its worker wrote it; null unless `state` is failed or gave_up. */
  error: { code: string; message: string } | null;
  /** A queued command held back behind this earlier command of its key (per-aggregate ordering). */
  waitingFor: string | null;
  /** The name of the API key that sent the command, from its job; null or absent when none did. */
  sentBy?: string | null;
}

export interface CommandJobs {
  find(commandId: string): Promise<QueuedCommandState | null>;
}
