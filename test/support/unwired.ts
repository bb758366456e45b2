// Use cases a test's app must never reach (no I/O: the unit tests use it too).

/**
 * A set of use cases (`{ <name>: { execute } }`, such as WebhookManagement) whose every
 * `execute` is `execute`: one that rejects, since any call is a test bug.
 */
export function unwiredUseCases<T extends object>(execute: () => Promise<never>): T {
  return new Proxy({} as T, { get: () => ({ execute }) });
}
