import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RUN_AT_DAYS, parseRfc3339, runAtWindowProblem } from '../../../src/api/run-at.js';

describe('parseRfc3339 (the Run-At header)', () => {
  it.each([
    ['2027-01-31T09:00:00Z', '2027-01-31T09:00:00.000Z'],
    ['2027-01-31t09:00:00z', '2027-01-31T09:00:00.000Z'],
    ['2027-01-31T09:00:00.5Z', '2027-01-31T09:00:00.500Z'],
    ['2027-01-31T09:00:00.123456789Z', '2027-01-31T09:00:00.123Z'],
    ['2027-01-31T10:30:00+01:30', '2027-01-31T09:00:00.000Z'],
    ['2027-01-31T00:00:00-05:00', '2027-01-31T05:00:00.000Z'],
    ['2028-02-29T12:00:00Z', '2028-02-29T12:00:00.000Z'],
  ])('reads %s as %s', (text, instant) => {
    expect(parseRfc3339(text)?.toISOString()).toBe(instant);
  });

  it.each([
    ['no time zone', '2027-01-31T09:00:00'],
    ['a date only', '2027-01-31'],
    ['a space for T', '2027-01-31 09:00:00Z'],
    ['epoch seconds', '1800000000'],
    ['an HTTP date', 'Sun, 31 Jan 2027 09:00:00 GMT'],
    ['month 13', '2027-13-01T09:00:00Z'],
    ['31 April', '2027-04-31T09:00:00Z'],
    ['29 February of a common year', '2027-02-29T09:00:00Z'],
    ['hour 24', '2027-01-31T24:00:00Z'],
    ['a leap second', '2027-06-30T23:59:60Z'],
    ['an offset of 24 hours', '2027-01-31T09:00:00+24:00'],
    ['an offset without colon', '2027-01-31T09:00:00+0100'],
    ['a dangling fraction', '2027-01-31T09:00:00.Z'],
    ['trailing text', '2027-01-31T09:00:00Z tomorrow'],
    ['nothing', ''],
  ])('refuses %s', (_what, text) => {
    expect(parseRfc3339(text)).toBeNull();
  });
});

describe('parseRfc3339 on any input', () => {
  it('never throws', () => {
    fc.assert(fc.property(fc.string(), (text) => void parseRfc3339(text)));
  });

  it('reads any instant back exactly, whatever offset writes it', () => {
    const instants = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true });
    fc.assert(
      fc.property(instants, fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }), (instant, offsetMinutes) => {
        const local = new Date(instant.getTime() + offsetMinutes * 60_000).toISOString().slice(0, -1);
        const abs = Math.abs(offsetMinutes);
        const offset = `${offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        expect(parseRfc3339(`${local}${offset}`)?.getTime()).toBe(instant.getTime());
      }),
    );
  });
});

describe('runAtWindowProblem', () => {
  const now = new Date('2027-01-01T00:00:00Z');
  const at = (ms: number) => new Date(now.getTime() + ms);
  const day = 24 * 3600 * 1000;

  it('accepts a time in the future up to 366 days ahead', () => {
    expect(runAtWindowProblem(at(1), now)).toBeNull();
    expect(runAtWindowProblem(at(2000), now)).toBeNull();
    expect(runAtWindowProblem(at(MAX_RUN_AT_DAYS * day), now)).toBeNull();
  });

  it('refuses now and the past', () => {
    expect(runAtWindowProblem(now, now)).toBe('must be in the future');
    expect(runAtWindowProblem(at(-1), now)).toBe('must be in the future');
  });

  it('refuses more than 366 days ahead', () => {
    expect(runAtWindowProblem(at(MAX_RUN_AT_DAYS * day + 1), now)).toBe('must be at most 366 days ahead');
  });
});
