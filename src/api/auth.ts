import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { hashApiKey } from '../application/access/api-keys.js';
import { SCOPES, type Principal, type Scope } from '../application/access/principal.js';
import type { LoginThrottle, PrincipalDirectory } from './ports.js';
import { problemType, sendProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a key needs for this /v1 route, or every one of several (docs/adr/0011-api-keys-and-scopes.md). */
    scope?: Scope | readonly Scope[];
    /** `scope` as a list, set once when the route is registered (withScope in app.ts). */
    scopes?: readonly Scope[];
  }
  interface FastifyRequest {
    /**
     * SHA-256 (hex) of the caller's API key, set by the bearer auth hook: it scopes
     * Idempotency-Keys per caller without keeping the key itself anywhere.
     */
    callerId: string;
    /** The API key that sent the request, with its name and scopes (set by the bearer auth hook). */
    principal: Principal | null;
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * True when `presented` equals one of `expected`. Digests have one length, so the comparison
 * takes the same time whatever the input, and every key is compared (no early exit).
 */
function matchesAny(presented: Buffer, expected: readonly Buffer[]): boolean {
  return matchIndex(presented, expected) >= 0;
}

/** The index of the digest equal to `presented`, or -1; compares with every one, in constant time. */
function matchIndex(presented: Buffer, expected: readonly Buffer[]): number {
  let index = -1;
  expected.forEach((digest, i) => {
    if (timingSafeEqual(presented, digest)) index = i;
  });
  return index;
}

const BEARER = /^Bearer +(\S+) *$/i;

/** The principal of a development key from API_KEYS: every scope, named by its position. */
function envPrincipal(digest: Buffer, index: number): Principal {
  return {
    keyId: `env:${digest.toString('hex').slice(0, 8)}`,
    name: `API_KEYS #${index + 1}`,
    scopes: new Set(SCOPES),
    rateLimitPerMinute: null,
  };
}

/** 401 with a Bearer challenge (RFC 6750 §3), naming the `error` when a key was presented. */
function unauthorized(request: FastifyRequest, reply: FastifyReply, detail: string, error?: 'invalid_token') {
  const challenge = error === undefined ? 'Bearer realm="conveyor"' : `Bearer realm="conveyor", error="${error}"`;
  return sendProblem(request, reply, { status: 401, detail }, { 'www-authenticate': challenge });
}

/**
 * `Authorization: Bearer <key>` with a key of the `api_keys` table (`directory`) or one of
 * `apiKeys` (API_KEYS, for development); 401 with a Bearer challenge otherwise. Sets
 * `request.principal`, and every later log line of the request names the key.
 */
export function bearerAuth(apiKeys: readonly string[], directory?: PrincipalDirectory): onRequestAsyncHookHandler {
  const digests = apiKeys.map((key) => Buffer.from(hashApiKey(key), 'hex'));
  const envPrincipals = digests.map(envPrincipal);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const key = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (key === undefined) return unauthorized(request, reply, 'Send an API key as "Authorization: Bearer <key>".');
    const hex = hashApiKey(key);
    const presented = Buffer.from(hex, 'hex');
    const envIndex = matchIndex(presented, digests);
    const principal = envIndex >= 0 ? envPrincipals[envIndex] : directory?.lookup(hex);
    if (principal === undefined) return unauthorized(request, reply, 'The API key is not valid, or it was revoked.', 'invalid_token');
    request.callerId = hex;
    request.principal = principal;
    request.log = request.log.child({ apiKeyName: principal.name });
  };
}

/**
 * Answers 403 unless the caller's key has the route's scopes (`config.scopes`). A /v1 route
 * without a scope is refused to everyone: access fails closed.
 */
export function requireRouteScope(): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.is404) return;
    const scopes = request.routeOptions.config.scopes ?? [];
    const scope = scopes.find((s) => !request.principal?.scopes.has(s));
    if (scopes.length > 0 && scope === undefined) return;
    return sendProblem(request, reply, {
      status: 403,
      type: problemType('missing-scope'),
      title: 'Missing scope',
      detail:
        scope === undefined
          ? 'This route has no scope, so no key may use it.'
          : `This API key does not have the "${scope}" scope, which this route needs.`,
      ...(scope === undefined ? {} : { extensions: { scope } }),
    });
  };
}

const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="conveyor admin", charset="UTF-8"' };

/**
 * HTTP basic auth with one user (Bull Board); 401 with a Basic challenge otherwise. Wrong
 * credentials count against the client's IP in `throttle`: once it has had its failures, every
 * request it makes gets 429 with Retry-After until its window ends, right credentials included
 * (so guessing on stops telling right from wrong). A request without credentials is only
 * challenged: it guesses nothing, and a browser sends one before every login.
 */
export function basicAuth(credentials: { user: string; password: string }, throttle: LoginThrottle): onRequestAsyncHookHandler {
  const user = [sha256(credentials.user)];
  const password = [sha256(credentials.password)];
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const encoded = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(request.headers.authorization ?? '')?.[1];
    if (encoded === undefined) {
      return sendProblem(request, reply, { status: 401, detail: 'The queue dashboard needs the admin user name and password.' }, BASIC_CHALLENGE);
    }
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // Both halves are always compared, so timing does not tell which one was wrong.
    const userMatches = matchesAny(sha256(decoded.slice(0, Math.max(colon, 0))), user);
    const passwordMatches = matchesAny(sha256(decoded.slice(colon + 1)), password);
    const valid = colon >= 0 && userMatches && passwordMatches;
    let retryAfter: number;
    try {
      retryAfter = valid ? await throttle.blockedFor(request.ip) : await throttle.recordFailure(request.ip);
    } catch (error) {
      // Without the count nobody can tell a guesser from an operator: refuse, as the board
      // itself could show nothing without Redis either.
      request.log.warn({ err: error }, 'the Bull Board login throttle is unavailable');
      return sendProblem(request, reply, { status: 503, detail: 'The queue dashboard cannot check logins right now; try again shortly.' }, { 'retry-after': '5' });
    }
    if (retryAfter > 0) {
      return sendProblem(
        request,
        reply,
        {
          status: 429,
          type: problemType('too-many-failed-logins'),
          detail: `Too many failed logins to the queue dashboard from this address; try again in ${retryAfter} s.`,
        },
        { 'retry-after': String(retryAfter) },
      );
    }
    if (!valid) {
      return sendProblem(request, reply, { status: 401, detail: 'The queue dashboard needs the admin user name and password.' }, BASIC_CHALLENGE);
    }
  };
}
