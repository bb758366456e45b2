import { describe, expect, it } from 'vitest';
import { RegisterUser, type RegisterUserInput } from '../../../../src/application/commerce/use-cases/register-user.js';
import { RecordedFailureError } from '../../../../src/domain/index.js';
import { useCaseUnderTest } from '../../support/use-case.js';
import { domainRejectionOf } from '../../support/errors.js';
import { newId } from '../../support/ids.js';
import { seedUser } from '../../support/seed.js';

describe('RegisterUser', () => {
  const t = useCaseUnderTest((uow, clock) => new RegisterUser(uow, clock));

  function input(override: Partial<RegisterUserInput> = {}): RegisterUserInput {
    return { commandId: newId(), userId: newId(), email: 'ann@example.com', name: 'Ann Smith', ...override };
  }

  it('stores the user with a normalised email and answers with its id', async () => {
    const cmd = input({ email: '  Ann@Example.COM ', name: ' Ann Smith ' });

    const output = await t.useCase.execute(cmd);

    expect(output).toEqual({ userId: cmd.userId });
    const stored = t.uow.storedUser(cmd.userId);
    expect(stored).toMatchObject({ id: cmd.userId, email: 'ann@example.com', name: 'Ann Smith' });
    expect(stored?.createdAt).toEqual(t.clock.now());
  });

  it('writes one user.registered outbox row (the welcome email) in the same commit', async () => {
    const cmd = input({ email: 'Ann@Example.com' });

    await t.useCase.execute(cmd);

    expect(t.uow.outbox).toEqual([
      t.outboxRow('user.registered', cmd.userId, cmd.commandId, { userId: cmd.userId, email: 'ann@example.com', name: 'Ann Smith' }),
    ]);
  });

  it('refuses an email that is taken, however it is spelled', async () => {
    seedUser(t.uow, 'ann@example.com');
    const cmd = input({ email: ' ANN@example.com' });

    await t.refusal(cmd, 'email_taken');
    expect(t.uow.storedUser(cmd.userId)).toBeUndefined();
  });

  it('lets only the first of two registrations with the same email through', async () => {
    const first = input({ email: 'ann@example.com' });
    const second = input({ email: 'ann@example.com' });

    const outcomes = await Promise.allSettled([t.useCase.execute(first), t.useCase.execute(second)]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected']);
    expect(t.uow.storedUsers().map((user) => user.id)).toEqual([first.userId]);
    expect(t.uow.outbox.map((row) => row.aggregateId)).toEqual([first.userId]);
  });

  it.each<[Partial<RegisterUserInput>, string]>([
    [{ email: 'not-an-email' }, 'an invalid email'],
    [{ name: '   ' }, 'a blank name'],
    [{ name: 'n'.repeat(201) }, 'a name over 200 characters'],
    [{ userId: 'not-a-uuid' }, 'a malformed user id'],
  ])('refuses %j (%s) with invalid_value and stores nothing', async (override) => {
    const cmd = input(override);

    await t.refusal(cmd, 'invalid_value');
    expect(t.uow.storedUsers()).toEqual([]);
    expect(t.uow.processed(cmd.commandId)).toMatchObject({ status: 'failed', error: { code: 'invalid_value' } });
  });

  it('applies a redelivered command once and answers the same', async () => {
    const cmd = input();

    await t.executedTwice(cmd);

    expect(t.uow.storedUsers()).toHaveLength(1);
    expect(t.uow.outbox).toHaveLength(1);
    expect(t.uow.executedWork).toBe(1);
  });

  it('fails a redelivered failed command the same way, even if it would succeed now', async () => {
    const cmd = input({ email: 'broken' });
    const first = await domainRejectionOf(t.useCase.execute(cmd));

    const again = await domainRejectionOf(t.useCase.execute({ ...cmd, email: 'ann@example.com' }));

    expect(again).toBeInstanceOf(RecordedFailureError);
    expect(again.code).toBe(first.code);
    expect(again.message).toBe(first.message);
    expect(t.uow.storedUsers()).toEqual([]);
  });

  it('runs again after an infrastructure failure and then applies once', async () => {
    const cmd = input();
    t.uow.failNextCommitWith(new Error('connection terminated'));

    await expect(t.useCase.execute(cmd)).rejects.toThrow('connection terminated');
    expect(t.uow.storedUsers()).toEqual([]);

    await expect(t.useCase.execute(cmd)).resolves.toEqual({ userId: cmd.userId });
    expect(t.uow.storedUsers()).toHaveLength(1);
    expect(t.uow.outbox).toHaveLength(1);
  });
});
