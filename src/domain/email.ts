import { InvalidValueError } from './errors.js';

// Deliberately permissive (RFC 5322 is not a validation grammar): one @, no spaces, a dot in
// the domain. Deliverability is proven by the welcome email, not by a regex.
/** RFC 5321's limit on a forward path. */
export const MAX_EMAIL_LENGTH = 254;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export class Email {
  private constructor(readonly value: string) {}

  /** Trims and lower-cases, so "Ann@Example.com" and "ann@example.com" are one user. */
  static parse(raw: string): Email {
    const value = raw.trim().toLowerCase();
    if (value.length > MAX_EMAIL_LENGTH || !EMAIL.test(value)) throw new InvalidValueError(`"${raw}" is not an email address`);
    return new Email(value);
  }

  toString(): string {
    return this.value;
  }
}
