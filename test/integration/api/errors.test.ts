import { afterAll, beforeAll, expect, test } from 'vitest';
import { InsufficientStockError } from '../../../src/domain/index.js';
import { type TestApi, auth, expectProblem, startApi } from '../../support/in-process-api.js';

let api: TestApi;

// Routes added to the built app before it is ready, to reach the error handler the way a
// future route would.
beforeAll(async () => {
  api = await startApi();
  api.app.get('/test/domain-error', async () => {
    throw new InsufficientStockError('01930000-0000-7000-8000-00000000bbbb', 5, 2);
  });
  api.app.get('/test/db-down', async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  });
  api.app.get('/test/redis-oom', async () => {
    throw new Error("OOM command not allowed when used memory > 'maxmemory'.");
  });
  api.app.get('/test/crash', async () => {
    throw new Error('password authentication failed for user "conveyor" at 10.0.0.7');
  });
});

afterAll(async () => {
  await api.close();
});

test('a DomainError → 422 with its code', async () => {
  const response = await api.app.inject({ method: 'GET', url: '/test/domain-error', headers: auth });
  expect(response.statusCode).toBe(422);
  expect(expectProblem(response)).toMatchObject({
    status: 422,
    code: 'insufficient_stock',
    type: 'urn:conveyor:problem:insufficient_stock',
  });
});

test('an unexpected error → 500 problem that leaks nothing', async () => {
  const response = await api.app.inject({ method: 'GET', url: '/test/crash' });
  expect(response.statusCode).toBe(500);
  expect(expectProblem(response)).toEqual({
    type: 'about:blank',
    title: 'Internal Server Error',
    status: 500,
    detail: 'An unexpected error occurred.',
    instance: '/test/crash',
  });
  expect(response.body).not.toMatch(/password|10\.0\.0\.7|stack/);
});

test.each(['/test/db-down', '/test/redis-oom'])('%s: a backing service that is down or full → 503 with Retry-After', async (url) => {
  const response = await api.app.inject({ method: 'GET', url });
  expect(response.statusCode).toBe(503);
  expect(response.headers['retry-after']).toBe('5');
  expect(expectProblem(response)).toMatchObject({ status: 503, type: 'urn:conveyor:problem:service-unavailable' });
  expect(response.body).not.toMatch(/5432|maxmemory/);
});
