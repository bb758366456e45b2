import { beforeEach, describe, expect, it } from 'vitest';
import { RegisterUser, type RegisterUserInput } from '../../../../src/application/commerce/use-cases/register-user.js';
import { RecordedFailureError } from '../../../../src/domain/index.js';
import { FixedClock } from '../../fakes/fixed-clock.js';
import { InMemoryUnitOfWork } from '../../fakes/in-memory-unit-of-work.js';
import { domainRejectionOf } from '../../support/errors.js';
import { newId } from '../../support/ids.js';
import { seedUser } from '../../support/seed.js';

describe('RegisterUser', () => {
  const clock = new FixedClock('2025-03-14T09:26:53.000Z');
  let uow: InMemoryUnitOfWork;
  let registerUser: RegisterUser;

  beforeEach(() => {
    uow = new InMemoryUnitOfWork();
    registerUser = new RegisterUser(uow, clock);
  });

  function input(override: Partial<RegisterUserInput> = {}): RegisterUserInput {
    return { commandId: newId(), userId: newId(), email: 'ann@example.com', name: 'Ann Smith', ...override };
  }

  it('stores the user with a normalised email and answers with its id', async () => {
    const cmd = input({ email: '  Ann@Example.COM ', name: ' Ann Smith ' });

    const output = await registerUser.execute(cmd);

    expect(output).toEqual({ userId: cmd.userId });
    const stored = uow.storedUser(cmd.userId);
    expect(stored).toMatchObject({ id: cmd.userId, email: 'ann@example.com', name: 'Ann Smith' });
    expect(stored?.createdAt).toEqual(clock.now());
  });

  it('writes one user.registered outbox row (the welcome email) in the same commit', async () => {
    const cmd = input({ email: 'Ann@Example.com' });

    await registerUser.execute(cmd);

    expect(uow.outbox).toEqual([
      {
        type: 'user.registered',
        aggregateType: 'user',
        aggregateId: cmd.userId,
        occurredAt: clock.now(),
        payload: { userId: cmd.userId, email: 'ann@example.com', name: 'Ann Smith' },
        commandId: cmd.commandId,
      },
    ]);
  });

  it('refuses an email that is taken, however it is spelled', async () => {
    seedUser(uow, 'ann@example.com');
    const cmd = input({ email: ' ANN@example.com' });

    const error = await domainRejectionOf(registerUser.execute(cmd));

    expect(error.code).toBe('email_taken');
    expect(uow.storedUser(cmd.userId)).toBeUndefined();
    expect(uow.outbox).toEqual([]);
  });

  it('lets only the first of two registrations with the same email through', async () => {
    const first = input({ email: 'ann@example.com' });
    const second = input({ email: 'ann@example.com' });

    const outcomes = await Promise.allSettled([registerUser.execute(first), registerUser.execute(second)]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected']);
    expect(uow.storedUsers().map((user) => user.id)).toEqual([first.userId]);
    expect(uow.outbox.map((row) => row.aggregateId)).toEqual([first.userId]);
  });

  it.each<[Partial<RegisterUserInput>, string]>([
    [{ email: 'not-an-email' }, 'an invalid email'],
    [{ name: '   ' }, 'a blank name'],
    [{ name: 'n'.repeat(201) }, 'a name over 200 characters'],
    [{ userId: 'not-a-uuid' }, 'a malformed user id'],
  ])('refuses %j (%s) with invalid_value and stores nothing', async (override) => {
    const cmd = input(override);

    const error = await domainRejectionOf(registerUser.execute(cmd));

    expect(error.code).toBe('invalid_value');
    expect(uow.storedUsers()).toEqual([]);
    expect(uow.outbox).toEqual([]);
    expect(uow.processed(cmd.commandId)).toMatchObject({ status: 'failed', error: { code: 'invalid_value' } });
  });

  it('applies a redelivered command once and answers the same', async () => {
    const cmd = input();

    const first = await registerUser.execute(cmd);
    const again = await registerUser.execute(cmd);

    expect(again).toEqual(first);
    expect(uow.storedUsers()).toHaveLength(1);
    expect(uow.outbox).toHaveLength(1);
    expect(uow.executedWork).toBe(1);
  });

  it('fails a redelivered failed command the same way, even if it would succeed now', async () => {
    const cmd = input({ email: 'broken' });
    const first = await domainRejectionOf(registerUser.execute(cmd));

    const again = await domainRejectionOf(registerUser.execute({ ...cmd, email: 'ann@example.com' }));

    expect(again).toBeInstanceOf(RecordedFailureError);
    expect(again.code).toBe(first.code);
    expect(again.message).toBe(first.message);
    expect(uow.storedUsers()).toEqual([]);
  });

  it('runs again after an infrastructure failure and then applies once', async () => {
    const cmd = input();
    uow.failNextCommitWith(new Error('connection terminated'));

    await expect(registerUser.execute(cmd)).rejects.toThrow('connection terminated');
    expect(uow.storedUsers()).toEqual([]);

    await expect(registerUser.execute(cmd)).resolves.toEqual({ userId: cmd.userId });
    expect(uow.storedUsers()).toHaveLength(1);
    expect(uow.outbox).toHaveLength(1);
  });
});
