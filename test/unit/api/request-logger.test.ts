// A request's logger (request.log) is made only when the request writes a line at an enabled
// level (src/api/request-logger.ts): the lines it writes are the same as before, with the
// request id and the caller's key name.
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../src/infrastructure/logger.js';
import { lazyRequestLogger } from '../../../src/api/request-logger.js';
import { API_KEY, CapturedLogs, inMemoryApi } from '../support/api.js';

const order = { authorization: `Bearer ${API_KEY}` };
const userBody = { email: 'ann@example.com', name: 'Ann' };

async function apiLoggingAt(level: string) {
  const logs = new CapturedLogs();
  const logger = createLogger({ level, role: 'web', destination: logs.stream });
  const child = vi.spyOn(logger, 'child');
  const { app } = await inMemoryApi({ logger });
  // A request that sends `x-warn` writes one warning after the bearer check, as a route would.
  app.addHook('preHandler', async (request) => {
    if (request.headers['x-warn'] !== undefined) request.log.warn({ probe: true }, 'a warning of the request');
  });
  // Fastify makes one child of its own when it starts; what counts is per request.
  await app.ready();
  child.mockClear();
  return { app, logs, child };
}

describe('request loggers', () => {
  it('at warn, requests that write nothing make no child logger, and one that warns writes its line with its request id and key name', async () => {
    const { app, logs, child } = await apiLoggingAt('warn');
    for (let i = 0; i < 5; i += 1) {
      const response = await app.inject({ method: 'POST', url: '/v1/users', headers: order, payload: userBody });
      expect(response.statusCode).toBe(202);
    }
    expect(child).not.toHaveBeenCalled();
    expect(logs.raw).toEqual([]);

    const warned = await app.inject({ method: 'POST', url: '/v1/users', headers: { ...order, 'x-warn': '1' }, payload: userBody });
    await app.close();
    expect(warned.statusCode).toBe(202);
    expect(logs.lines).toHaveLength(1);
    expect(logs.lines[0]).toMatchObject({ level: 40, msg: 'a warning of the request', probe: true, role: 'web', apiKeyName: 'API_KEYS #1' });
    expect(logs.lines[0]?.reqId).toEqual(expect.any(String));
    expect(child).toHaveBeenCalledTimes(1);
  });

  it('at info, every line of a request carries its request id, and those after the bearer check its key name', async () => {
    const { app, logs } = await apiLoggingAt('info');
    const response = await app.inject({ method: 'POST', url: '/v1/users', headers: order, payload: userBody });
    await app.close();
    expect(response.statusCode).toBe(202);
    const { commandId } = response.json<{ commandId: string }>();
    const accepted = logs.lines.find((line) => line.msg === 'command accepted');
    expect(accepted).toMatchObject({ commandId, apiKeyName: 'API_KEYS #1' });
    const lines = logs.lines.filter((line) => line.reqId === accepted?.reqId).map((line) => line.msg);
    expect(lines).toEqual(['incoming request', 'command accepted', 'request completed']);
    expect(logs.lines.find((line) => line.msg === 'incoming request')).not.toHaveProperty('apiKeyName');
  });

  it('answers what pino answers — isLevelEnabled, bindings, setBindings, flush — without making a child until it must', () => {
    const logs = new CapturedLogs();
    const parent = pino({ level: 'warn', base: null, timestamp: false }, logs.stream).child({ role: 'web' });
    const child = vi.spyOn(parent, 'child');
    const request = lazyRequestLogger(parent, { reqId: 'req-1' }) as ReturnType<typeof lazyRequestLogger> & {
      isLevelEnabled(level: string): boolean;
      bindings(): Record<string, unknown>;
      setBindings(bindings: Record<string, unknown>): void;
      flush(callback?: (error?: Error) => void): void;
    };
    expect(request.isLevelEnabled('info')).toBe(false);
    expect(request.isLevelEnabled('warn')).toBe(true);
    expect(request.bindings()).toEqual({ role: 'web', reqId: 'req-1' });
    let flushed = false;
    request.flush(() => (flushed = true));
    expect(flushed).toBe(true);
    expect(child).not.toHaveBeenCalled();

    request.setBindings({ apiKeyName: 'shop' });
    expect(child).toHaveBeenCalledTimes(1);
    expect(request.bindings()).toEqual({ role: 'web', reqId: 'req-1', apiKeyName: 'shop' });
    request.warn('written');
    expect(logs.lines).toEqual([{ level: 40, role: 'web', reqId: 'req-1', apiKeyName: 'shop', msg: 'written' }]);
  });

  it('reports the level and takes a new one, and gives a child with options of its own at once', () => {
    const logs = new CapturedLogs();
    const parent = pino({ level: 'warn', base: null, timestamp: false }, logs.stream);
    const request = lazyRequestLogger(parent, { reqId: 'req-1' });
    expect(request.level).toBe('warn');
    request.info('not written');
    request.level = 'info';
    request.info('written');
    expect(parent.level).toBe('warn');
    request.child({ step: 2 }, { level: 'error' }).warn('below the grandchild level');
    const eager = lazyRequestLogger(parent, { reqId: 'req-2' }, { level: 'debug' });
    expect(eager.level).toBe('debug');
    eager.debug('a route at debug');
    expect(logs.lines).toEqual([
      { level: 30, reqId: 'req-1', msg: 'written' },
      { level: 20, reqId: 'req-2', msg: 'a route at debug' },
    ]);
  });
});
