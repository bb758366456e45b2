import { ConnectionException } from '@mikro-orm/core';
import { describe, expect, it } from 'vitest';
import { domainErrorStatus } from '../../../src/api/problem.js';
import { EmailNotFoundError, EmailPendingError } from '../../../src/application/email/errors.js';
import {
  InvalidEventTypesError,
  InvalidWebhookUrlError,
  WebhookDeliveryInProgressError,
  WebhookDeliveryNotFoundError,
  WebhookEndpointDisabledError,
  WebhookEndpointNotFoundError,
  WebhookUrlNotAllowedError,
} from '../../../src/application/webhooks/errors.js';
import * as domain from '../../../src/domain/index.js';
import { isTransient } from '../../../src/infrastructure/errors.js';
import { QueueUnavailableError } from '../../../src/infrastructure/queue/bullmq-command-sender.js';

const id = '01930000-0000-7000-8000-00000000aaaa';

describe('error → HTTP status table', () => {
  it.each([
    [new WebhookEndpointNotFoundError(id), { status: 404 }],
    [new WebhookDeliveryNotFoundError(id), { status: 404 }],
    [new InvalidWebhookUrlError('not a URL'), { status: 400, field: 'url' }],
    [new WebhookUrlNotAllowedError('private address'), { status: 400, field: 'url' }],
    [new InvalidEventTypesError('unknown event type order.nope'), { status: 400, field: 'eventTypes' }],
    [new WebhookEndpointDisabledError(id, null), { status: 409 }],
    [new WebhookDeliveryInProgressError(id), { status: 409 }],
    [new EmailNotFoundError(id), { status: 404 }],
    [new EmailPendingError(id), { status: 409 }],
  ])('%s → its own status', (error, expected) => {
    expect(domainErrorStatus(error)).toEqual(expected);
  });

  it.each([
    new domain.InsufficientStockError(id, 2, 1),
    new domain.InvalidTransitionError('shipped', 'cancel'),
    new domain.EmailTakenError('a@example.com'),
    new domain.NotFoundError('order', id),
    new domain.RecordedFailureError('insufficient_stock', 'none left'),
  ])('a command the domain refuses (%s) → 422', (error) => {
    expect(domainErrorStatus(error)).toEqual({ status: 422 });
  });
});

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isTransient', () => {
  it.each<[string, Error]>([
    ['a refused connection', coded('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a DNS failure', coded('getaddrinfo EAI_AGAIN db', 'EAI_AGAIN')],
    ['PostgreSQL shutting down (57P01)', coded('terminating connection due to administrator command', '57P01')],
    ['too many connections (53300)', coded('sorry, too many clients already', '53300')],
    ['a MikroORM connection exception', new ConnectionException(new Error('connection lost'))],
    ['an unready command queue', new QueueUnavailableError('queue commands is not connected to Redis')],
    ['ioredis giving up a command', Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' })],
    ['a closed ioredis connection', new Error('Connection is closed.')],
    ['Redis out of memory', new Error("OOM command not allowed when used memory > 'maxmemory'.")],
    ['a read-only Redis replica', new Error("READONLY You can't write against a read only replica.")],
    ['pg losing its connection', new Error('Connection terminated unexpectedly')],
    ['pg-pool out of time', new Error('timeout exceeded when trying to connect')],
    ['a transient cause', new Error('enqueue failed', { cause: coded('read ECONNRESET', 'ECONNRESET') })],
  ])('%s is transient', (_, error) => {
    expect(isTransient(error)).toBe(true);
  });

  it.each([
    ['a domain error', new domain.InsufficientStockError(id, 2, 1)],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['bad credentials', coded('password authentication failed for user "conveyor"', '28P01')],
    ['a unique violation', coded('duplicate key value violates unique constraint', '23505')],
    ['not an error', 'ECONNREFUSED'],
    ['nothing', undefined],
  ])('%s is not transient', (_, error) => {
    expect(isTransient(error)).toBe(false);
  });
});
