import { CurrencyMismatchError, InvalidValueError } from './errors.js';

// The set of ISO 4217 codes comes from the runtime (Intl). Minor-unit digits do NOT: ICU's
// are display digits (HUF shows 0, ISO says 2), and stored amounts are integers of minor
// units, so a runtime upgrade must never change them. The ISO 4217 exceptions to "2 digits":
const ISO_MINOR_DIGITS: Readonly<Record<string, number>> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0,
  UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};
const KNOWN_CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

function minorDigits(currency: string): number {
  return ISO_MINOR_DIGITS[currency] ?? 2;
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
