import { InvalidValueError } from './errors.js';

/** Upper bound of a single quantity; keeps stock arithmetic far inside safe integers. */
export const MAX_QUANTITY = 1_000_000;

/** A positive whole number of units. */
export class Quantity {
  private constructor(readonly value: number) {}

  static of(value: number): Quantity {
    if (!Number.isInteger(value) || value < 1 || value > MAX_QUANTITY) {
      throw new InvalidValueError(`quantity must be a whole number from 1 to ${MAX_QUANTITY}, got ${value}`);
    }
    return new Quantity(value);
  }
}
