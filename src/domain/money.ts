import { CurrencyMismatchError, InvalidValueError } from './errors.js';

// ISO 4217 codes and their minor-unit digits come from the runtime's ICU data (Intl), so the
// domain needs no hand-kept table and no import.
const KNOWN_CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));
const minorDigitsCache = new Map<string, number>();

function minorDigits(currency: string): number {
  let digits = minorDigitsCache.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
    minorDigitsCache.set(currency, digits);
  }
  return digits;
}

export function isCurrencyCode(value: string): boolean {
  return /^[A-Z]{3}$/.test(value) && KNOWN_CURRENCIES.has(value);
}

const DECIMAL = /^(0|[1-9]\d*)(?:\.(\d+))?$/;

/**
 * An exact amount of money in integer minor units (cents), tied to a currency.
 * Never a float: amounts enter and leave as decimal strings ("12.50").
 */
export class Money {
  private constructor(
    readonly minor: number,
    readonly currency: string,
  ) {}

  static ofMinor(minor: number, currency: string): Money {
    if (!isCurrencyCode(currency)) throw new InvalidValueError(`unknown currency ${currency}`);
    if (!Number.isSafeInteger(minor) || minor < 0) {
      throw new InvalidValueError(`money amount must be a non-negative safe integer of minor units, got ${minor}`);
    }
    return new Money(minor, currency);
  }

  /** Parses a non-negative decimal string with at most the currency's minor digits. */
  static parse(amount: string, currency: string): Money {
    if (!isCurrencyCode(currency)) throw new InvalidValueError(`unknown currency ${currency}`);
    const match = DECIMAL.exec(amount);
    const digits = minorDigits(currency);
    const whole = match?.[1];
    const fraction = match?.[2] ?? '';
    if (whole === undefined || fraction.length > digits) {
      throw new InvalidValueError(`"${amount}" is not an amount of ${currency} (at most ${digits} decimals)`);
    }
    const minor = Number(whole + fraction.padEnd(digits, '0'));
    return Money.ofMinor(minor, currency);
  }

  static zero(currency: string): Money {
    return Money.ofMinor(0, currency);
  }

  add(other: Money): Money {
    this.assertSameCurrency(other);
    return Money.ofMinor(this.minor + other.minor, this.currency);
  }

  times(factor: number): Money {
    if (!Number.isSafeInteger(factor) || factor < 0) throw new InvalidValueError(`cannot multiply money by ${factor}`);
    return Money.ofMinor(this.minor * factor, this.currency);
  }

  equals(other: Money): boolean {
    return this.minor === other.minor && this.currency === other.currency;
  }

  /** The amount as a decimal string with exactly the currency's minor digits ("12.50"). */
  toDecimalString(): string {
    return formatMinor(this.minor, this.currency);
  }

  toJSON(): { amount: string; currency: string } {
    return { amount: this.toDecimalString(), currency: this.currency };
  }

  private assertSameCurrency(other: Money): void {
    if (other.currency !== this.currency) {
      throw new CurrencyMismatchError(`cannot combine ${this.currency} with ${other.currency}`);
    }
  }
}

/** Formats integer minor units as a decimal string; also used for averages that are not Money. */
export function formatMinor(minor: number, currency: string): string {
  const digits = minorDigits(currency);
  const sign = minor < 0 ? '-' : '';
  const text = Math.abs(minor).toString().padStart(digits + 1, '0');
  if (digits === 0) return sign + text;
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}
