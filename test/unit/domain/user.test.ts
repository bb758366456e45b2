import { describe, expect, it } from 'vitest';
import { InvalidValueError, MAX_NAME_LENGTH, User, assertName } from '../../../src/domain/index.js';
import { domainErrorOf } from '../support/errors.js';
import { newId } from '../support/ids.js';

const now = new Date('2025-03-14T09:26:53.000Z');

describe('User.register', () => {
  it('keeps the normalised email, the trimmed name and the registration time', () => {
    const id = newId();

    const user = User.register({ id, email: '  Ann@Example.COM ', name: '  Ann Smith  ', now });

    expect(user.id).toBe(id);
    expect(user.email).toBe('ann@example.com');
    expect(user.name).toBe('Ann Smith');
    expect(user.createdAt).toEqual(now);
  });

  it('records user.registered with the user as payload', () => {
    const id = newId();

    const user = User.register({ id, email: 'Ann@Example.com', name: ' Ann ', now });

    expect(user.pullEvents()).toEqual([
      {
        type: 'user.registered',
        aggregateType: 'user',
        aggregateId: id,
        occurredAt: now,
        payload: { userId: id, email: 'ann@example.com', name: 'Ann' },
      },
    ]);
  });

  it('hands its events out once', () => {
    const user = User.register({ id: newId(), email: 'ann@example.com', name: 'Ann', now });

    expect(user.pullEvents()).toHaveLength(1);
    expect(user.pullEvents()).toEqual([]);
  });

  it.each<[Partial<Parameters<typeof User.register>[0]>, string]>([
    [{ id: 'not-a-uuid' }, 'a malformed id'],
    [{ id: newId().toUpperCase() }, 'an upper-case id'],
    [{ email: 'ann.example.com' }, 'an invalid email'],
    [{ name: '' }, 'an empty name'],
    [{ name: '   ' }, 'a blank name'],
    [{ name: 'x'.repeat(MAX_NAME_LENGTH + 1) }, 'a name that is too long'],
  ])('refuses %j (%s)', (override) => {
    const input = { id: newId(), email: 'ann@example.com', name: 'Ann', now, ...override };

    const error = domainErrorOf(() => User.register(input));

    expect(error).toBeInstanceOf(InvalidValueError);
    expect(error.code).toBe('invalid_value');
  });
});

describe('assertName', () => {
  it('allows 1 to 200 characters after trimming', () => {
    expect(MAX_NAME_LENGTH).toBe(200);
    expect(assertName('x')).toBe('x');
    expect(assertName(` ${'x'.repeat(200)} `)).toBe('x'.repeat(200));
    expect(domainErrorOf(() => assertName('x'.repeat(201))).code).toBe('invalid_value');
  });

  it('names the field in the message', () => {
    expect(domainErrorOf(() => assertName(' ', 'product name')).message).toContain('product name');
  });
});
