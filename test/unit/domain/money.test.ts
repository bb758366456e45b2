import { describe, expect, it } from 'vitest';
import {
  CurrencyMismatchError,
  InvalidValueError,
  Money,
  formatMinor,
  isCurrencyCode,
} from '../../../src/domain/index.js';
import { domainErrorOf } from '../support/errors.js';

describe('Money.parse', () => {
  it.each([
    ['12.50', 'EUR', 1250],
    ['12.5', 'EUR', 1250],
    ['12', 'EUR', 1200],
    ['0.5', 'EUR', 50],
    ['0.05', 'EUR', 5],
    ['0', 'EUR', 0],
    ['0.00', 'EUR', 0],
    ['1000000', 'USD', 100_000_000],
    ['100', 'JPY', 100],
    ['0', 'JPY', 0],
    ['1.234', 'KWD', 1234],
    ['0.001', 'KWD', 1],
    ['90071992547409.91', 'EUR', Number.MAX_SAFE_INTEGER],
  ])('parses "%s" %s as %i minor units', (amount, currency, minor) => {
    const money = Money.parse(amount, currency);

    expect(money.minor).toBe(minor);
    expect(money.currency).toBe(currency);
  });

  it.each([
    ['12.505', 'EUR', 'more decimals than the currency has'],
    ['12.500', 'EUR', 'a trailing zero beyond the currency digits'],
    ['1.5', 'JPY', 'decimals for a currency without minor units'],
    ['1.0', 'JPY', 'a zero decimal for a currency without minor units'],
    ['0.0001', 'KWD', 'four decimals for a three-decimal currency'],
    ['-1', 'EUR', 'a negative amount'],
    ['-0', 'EUR', 'a signed zero'],
    ['+1', 'EUR', 'an explicit plus sign'],
    ['1e3', 'EUR', 'exponent notation'],
    ['1E3', 'EUR', 'upper-case exponent notation'],
    [' 1', 'EUR', 'leading whitespace'],
    ['1 ', 'EUR', 'trailing whitespace'],
    ['', 'EUR', 'an empty string'],
    ['.5', 'EUR', 'a missing integer part'],
    ['1.', 'EUR', 'a dangling decimal point'],
    ['01', 'EUR', 'a leading zero'],
    ['00.50', 'EUR', 'leading zeros'],
    ['1,50', 'EUR', 'a decimal comma'],
    ['1_000', 'EUR', 'digit separators'],
    ['0x10', 'EUR', 'hexadecimal'],
    ['NaN', 'EUR', 'NaN'],
    ['Infinity', 'EUR', 'Infinity'],
    ['12.50 EUR', 'EUR', 'a unit suffix'],
    ['90071992547409.92', 'EUR', 'more minor units than a safe integer holds'],
  ])('rejects "%s" %s (%s)', (amount, currency) => {
    const error = domainErrorOf(() => Money.parse(amount, currency));

    expect(error).toBeInstanceOf(InvalidValueError);
    expect(error.code).toBe('invalid_value');
  });

  it.each(['XYZ', 'eur', 'Eur', 'EU', 'EURO', '', ' EUR'])('rejects the unknown currency "%s"', (currency) => {
    const error = domainErrorOf(() => Money.parse('1.00', currency));

    expect(error).toBeInstanceOf(InvalidValueError);
    expect(error.code).toBe('invalid_value');
  });
});

describe('Money.ofMinor', () => {
  it('keeps integer minor units and the currency', () => {
    const money = Money.ofMinor(1250, 'EUR');

    expect(money.minor).toBe(1250);
    expect(money.currency).toBe('EUR');
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1])(
    'rejects %s minor units',
    (minor) => {
      expect(domainErrorOf(() => Money.ofMinor(minor, 'EUR')).code).toBe('invalid_value');
    },
  );

  it('rejects an unknown currency', () => {
    expect(domainErrorOf(() => Money.ofMinor(100, 'XYZ')).code).toBe('invalid_value');
  });

  it('zero is zero minor units of the currency', () => {
    expect(Money.zero('USD').equals(Money.ofMinor(0, 'USD'))).toBe(true);
  });
});

describe('Money arithmetic', () => {
  it('adds amounts of one currency exactly, without float error', () => {
    const sum = Money.parse('0.10', 'EUR').add(Money.parse('0.20', 'EUR'));

    expect(sum.minor).toBe(30);
    expect(sum.toDecimalString()).toBe('0.30');
  });

  it('leaves both operands unchanged when adding', () => {
    const a = Money.parse('1.00', 'EUR');
    const b = Money.parse('2.00', 'EUR');

    a.add(b);

    expect(a.minor).toBe(100);
    expect(b.minor).toBe(200);
  });

  it('refuses to add amounts of different currencies', () => {
    const error = domainErrorOf(() => Money.parse('1.00', 'EUR').add(Money.parse('1.00', 'USD')));

    expect(error).toBeInstanceOf(CurrencyMismatchError);
    expect(error.code).toBe('currency_mismatch');
  });

  it('refuses to add across currencies even when one amount is zero', () => {
    expect(domainErrorOf(() => Money.zero('EUR').add(Money.zero('JPY'))).code).toBe('currency_mismatch');
  });

  it.each([
    ['12.50', 3, 3750],
    ['0.10', 3, 30],
    ['12.50', 1, 1250],
    ['12.50', 0, 0],
  ])('multiplies %s by %i', (amount, factor, minor) => {
    const product = Money.parse(amount, 'EUR').times(factor);

    expect(product.minor).toBe(minor);
    expect(product.currency).toBe('EUR');
  });

  it.each([1.5, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuses to multiply by %s', (factor) => {
    expect(domainErrorOf(() => Money.parse('1.00', 'EUR').times(factor)).code).toBe('invalid_value');
  });

  it('refuses a product beyond what a safe integer holds', () => {
    const big = Money.ofMinor(Number.MAX_SAFE_INTEGER, 'EUR');

    expect(domainErrorOf(() => big.times(2)).code).toBe('invalid_value');
  });

  it('refuses a sum beyond what a safe integer holds', () => {
    const big = Money.ofMinor(Number.MAX_SAFE_INTEGER, 'EUR');

    expect(domainErrorOf(() => big.add(Money.ofMinor(1, 'EUR'))).code).toBe('invalid_value');
  });

  it('compares by amount and currency', () => {
    const eur = Money.parse('1.00', 'EUR');

    expect(eur.equals(Money.ofMinor(100, 'EUR'))).toBe(true);
    expect(eur.equals(Money.ofMinor(101, 'EUR'))).toBe(false);
    expect(eur.equals(Money.ofMinor(100, 'USD'))).toBe(false);
  });
});

describe('Money.toDecimalString', () => {
  it.each([
    [1250, 'EUR', '12.50'],
    [50, 'EUR', '0.50'],
    [5, 'EUR', '0.05'],
    [0, 'EUR', '0.00'],
    [100_000_000, 'USD', '1000000.00'],
    [100, 'JPY', '100'],
    [0, 'JPY', '0'],
    [1234, 'KWD', '1.234'],
    [1, 'KWD', '0.001'],
    [Number.MAX_SAFE_INTEGER, 'EUR', '90071992547409.91'],
  ])('formats %i minor units of %s as "%s"', (minor, currency, text) => {
    expect(Money.ofMinor(minor, currency).toDecimalString()).toBe(text);
  });

  it.each([
    ['0.5', 'EUR', '0.50'],
    ['12', 'EUR', '12.00'],
    ['12.50', 'EUR', '12.50'],
    ['100', 'JPY', '100'],
  ])('gives "%s" %s back with exactly the currency digits: "%s"', (amount, currency, text) => {
    expect(Money.parse(amount, currency).toDecimalString()).toBe(text);
  });

  it('serialises to JSON as a decimal string and a currency, never a number', () => {
    const money = Money.parse('12.5', 'EUR');

    expect(money.toJSON()).toEqual({ amount: '12.50', currency: 'EUR' });
    expect(JSON.parse(JSON.stringify({ price: money }))).toEqual({ price: { amount: '12.50', currency: 'EUR' } });
  });
});

describe('formatMinor', () => {
  it('formats negative values (used for figures that are not Money)', () => {
    expect(formatMinor(-1250, 'EUR')).toBe('-12.50');
    expect(formatMinor(-5, 'EUR')).toBe('-0.05');
    expect(formatMinor(-7, 'JPY')).toBe('-7');
  });
});

describe('isCurrencyCode', () => {
  it.each([
    ['EUR', true],
    ['USD', true],
    ['JPY', true],
    ['XYZ', false],
    ['eur', false],
    ['EURO', false],
    ['', false],
  ])('"%s" → %s', (code, known) => {
    expect(isCurrencyCode(code)).toBe(known);
  });
});

describe('Money minor units follow ISO 4217, not display conventions', () => {
  it.each([
    ['HUF', '12.50', 1250],
    ['JPY', '100', 100],
    ['KWD', '1.234', 1234],
    ['IQD', '0.001', 1],
    ['TND', '0.005', 5],
  ])('%s "%s" is %i minor units', (currency, amount, minor) => {
    expect(Money.parse(amount, currency).minor).toBe(minor);
  });
});
