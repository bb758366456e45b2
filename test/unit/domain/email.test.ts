import { describe, expect, it } from 'vitest';
import { Email, InvalidValueError } from '../../../src/domain/index.js';
import { domainErrorOf } from '../support/errors.js';

describe('Email.parse', () => {
  it.each([
    ['ann@example.com', 'ann@example.com'],
    ['Ann@Example.COM', 'ann@example.com'],
    ['  ann@example.com\t\n', 'ann@example.com'],
    ['  ANN.Smith+Tag@Sub.Example.ORG ', 'ann.smith+tag@sub.example.org'],
    ['a@b.co', 'a@b.co'],
  ])('normalises "%s" to "%s"', (raw, normalised) => {
    const email = Email.parse(raw);

    expect(email.value).toBe(normalised);
    expect(email.toString()).toBe(normalised);
    expect(String(email)).toBe(normalised);
  });

  it('treats differently cased and padded spellings as the same address', () => {
    expect(Email.parse(' Ann@Example.com').value).toBe(Email.parse('ann@example.COM ').value);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'blank'],
    ['ann', 'no @'],
    ['ann@', 'no domain'],
    ['@example.com', 'no local part'],
    ['ann@example', 'no dot in the domain'],
    ['ann@example.', 'nothing after the last dot'],
    ['ann@@example.com', 'two @ in a row'],
    ['ann@example.com@example.org', 'two @'],
    ['a nn@example.com', 'a space in the local part'],
    ['ann@exa mple.com', 'a space in the domain'],
    ['ann@example.com\nbcc@evil.com', 'a line break (header injection)'],
  ])('rejects "%s" (%s)', (raw) => {
    const error = domainErrorOf(() => Email.parse(raw));

    expect(error).toBeInstanceOf(InvalidValueError);
    expect(error.code).toBe('invalid_value');
  });

  it('accepts 254 characters and rejects 255', () => {
    const local = 'a'.repeat(64);
    const at254 = `${local}@${'b'.repeat(185)}.com`;
    const at255 = `${local}@${'b'.repeat(186)}.com`;
    expect(at254).toHaveLength(254);
    expect(at255).toHaveLength(255);

    expect(Email.parse(at254).value).toBe(at254);
    expect(domainErrorOf(() => Email.parse(at255)).code).toBe('invalid_value');
  });

  it('measures the length after trimming', () => {
    const at254 = `${'a'.repeat(64)}@${'b'.repeat(185)}.com`;

    expect(Email.parse(`   ${at254}   `).value).toBe(at254);
  });
});
