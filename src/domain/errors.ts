/**
 * Domain errors carry a stable, machine-readable `code` and no transport concerns:
 * each edge (HTTP, worker) maps them once. A domain error means "this command can never
 * succeed as sent", so workers fail it permanently instead of retrying.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A value object or aggregate was given a value that breaks its invariants. */
export class InvalidValueError extends DomainError {
  readonly code = 'invalid_value';
}

export class InsufficientStockError extends DomainError {
  readonly code = 'insufficient_stock';

  constructor(
    readonly productId: string,
    readonly requested: number,
    readonly available: number,
  ) {
    super(`product ${productId} has ${available} in stock, ${requested} requested`);
  }
}

export class InvalidTransitionError extends DomainError {
  readonly code = 'invalid_transition';

  constructor(
    readonly from: string,
    readonly action: string,
  ) {
    super(`cannot ${action} an order that is ${from}`);
  }
}

export class CurrencyMismatchError extends DomainError {
  readonly code = 'currency_mismatch';
}

export class EmailTakenError extends DomainError {
  readonly code = 'email_taken';

  constructor(email: string) {
    super(`a user with email ${email} already exists`);
  }
}

export class SkuTakenError extends DomainError {
  readonly code = 'sku_taken';

  constructor(sku: string) {
    super(`a product with sku ${sku} already exists`);
  }
}

export class NotFoundError extends DomainError {
  readonly code: `${string}_not_found`;

  constructor(entity: 'user' | 'product' | 'order', id: string) {
    super(`${entity} ${id} does not exist`);
    this.code = `${entity}_not_found`;
  }
}

/** An aggregate id was reused for a different aggregate (ids are assigned at intake). */
export class DuplicateIdError extends DomainError {
  readonly code = 'duplicate_id';
}

/**
 * The stored outcome of a command that failed permanently earlier, replayed when the same
 * command id is delivered again: it keeps the original code and message.
 */
export class RecordedFailureError extends DomainError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The stored outcome of a command cancelled before it ran (DELETE /v1/commands/:id), met when a
 * copy of its job is delivered anyway: the command is refused, for good, without running.
 */
export class CommandCancelledError extends RecordedFailureError {
  constructor(commandId: string) {
    super('command_cancelled', `command ${commandId} was cancelled before it ran`);
  }
}
