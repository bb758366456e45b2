import { v4 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { InvalidValueError, assertId } from '../../../src/domain/index.js';
import { domainErrorOf } from '../support/errors.js';
import { newId } from '../support/ids.js';

describe('assertId', () => {
  it('returns a lower-case UUIDv7 unchanged', () => {
    const id = newId();

    expect(assertId(id)).toBe(id);
  });

  it('checks the shape only, so other UUID versions pass too', () => {
    const id = v4();

    expect(assertId(id)).toBe(id);
  });

  it.each([
    ['', 'empty'],
    ['not-a-uuid', 'free text'],
    ['0190A2B4-1DC4-72C7-93B3-445E84C98591', 'upper case'],
    ['0190a2b41dc472c793b3445e84c98591', 'no dashes'],
    ['{0190a2b4-1dc4-72c7-93b3-445e84c98591}', 'braces'],
    [' 0190a2b4-1dc4-72c7-93b3-445e84c98591', 'leading space'],
    ['0190a2b4-1dc4-72c7-93b3-445e84c98591 ', 'trailing space'],
    ['0190a2b4-1dc4-72c7-93b3-445e84c9859', 'one digit short'],
    ['0190a2b4-1dc4-72c7-93b3-445e84c98591a', 'one digit too many'],
    ['0190a2b4-1dc4-72c7-93b3-445e84c9859g', 'a non-hex digit'],
  ])('rejects "%s" (%s)', (value) => {
    const error = domainErrorOf(() => assertId(value));

    expect(error).toBeInstanceOf(InvalidValueError);
    expect(error.code).toBe('invalid_value');
  });

  it('names the field in the message', () => {
    expect(domainErrorOf(() => assertId('nope', 'orderId')).message).toContain('orderId');
  });
});
