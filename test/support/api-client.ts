// A client of the intake API over real HTTP, for the tests that start the web process.
import type { CommandStatusDto } from '../../src/application/commerce/queries/get-command-status.js';
import { waitFor } from './wait.js';

/** The API key the end-to-end processes accept (stackEnv). */
export const E2E_API_KEY = 'e2e-key';

/**
 * A parsed response body. `any` because the tests check these bodies with assertions, field
 * by field; declaring a type for every answer would only restate the expectations.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** An answer of the API: status, headers and the parsed JSON body (text when not JSON). */
export interface ApiResponse<T = Json> {
  status: number;
  headers: Headers;
  body: T;
}

/** An answer as `attempt` records it, for the tallies of the fault tests. */
export interface RecordedAnswer {
  /** The label the test gave the request, such as 'POST /v1/orders'. */
  route: string;
  /** HTTP status, or 0 when no answer came (connection refused, timeout). */
  status: number;
  /** When the request was sent and when its answer (or the failure) came, in epoch ms. */
  sentAt: number;
  at: number;
  body: unknown;
}

/** A tiny client of the intake API with a bearer key. */
export class ApiClient {
  /** Every answer `attempt` got, in order. */
  readonly answers: RecordedAnswer[] = [];

  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string = E2E_API_KEY,
  ) {}

  get<T = Json>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path);
  }

  post<T = Json>(path: string, body: unknown = {}, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, body, headers);
  }

  delete<T = Json>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('DELETE', path);
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<ApiResponse<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    return { status: response.status, headers: response.headers, body: (type.includes('json') && text ? JSON.parse(text) : text) as T };
  }

  /** Opens a Server-Sent Events stream (GET `path`); the caller closes it, or the server ends it. */
  async stream(path: string, headers: Record<string, string> = {}): Promise<EventStream> {
    const controller = new AbortController();
    const response = await fetch(`${this.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${this.apiKey}`, accept: 'text/event-stream', ...headers },
      signal: controller.signal,
    });
    return readEvents(response, controller);
  }

  /**
   * A request that never throws, recorded in `answers` under `route`: no answer within 15 s
   * (or a refused connection) is recorded as status 0. For clients that hammer the API while
   * a fault is injected.
   */
  async attempt(method: 'GET' | 'POST', route: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RecordedAnswer> {
    let answer: RecordedAnswer;
    const sentAt = Date.now();
    try {
      const response = await this.request<unknown>(method, path, body, headers, AbortSignal.timeout(15_000));
      answer = { route, status: response.status, sentAt, at: Date.now(), body: response.body };
    } catch (error) {
      answer = { route, status: 0, sentAt, at: Date.now(), body: String(error) };
    }
    this.answers.push(answer);
    return answer;
  }

  /** `{ route: { status: count } }` of the recorded answers that `filter` keeps. */
  tally(filter: (answer: RecordedAnswer) => boolean = () => true): Record<string, Record<number, number>> {
    const result: Record<string, Record<number, number>> = {};
    for (const answer of this.answers.filter(filter)) {
      const byStatus = (result[answer.route] ??= {});
      byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
    }
    return result;
  }

  /** Statuses seen, of the recorded answers that `filter` keeps. */
  statuses(filter: (answer: RecordedAnswer) => boolean = () => true): Set<number> {
    return new Set(this.answers.filter(filter).map((answer) => answer.status));
  }

  /** POSTs a command and returns its 202 answer; any other answer throws, with its body. */
  async accept(path: string, body: unknown = {}): Promise<Accepted> {
    const response = await this.post<Accepted>(path, body);
    if (response.status !== 202) throw new Error(`POST ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  }

  /** Polls GET /v1/commands/:id until the command has succeeded or failed; returns its status. */
  async settled(commandId: string, timeoutMs = 20_000): Promise<CommandStatus> {
    return waitFor(
      async () => {
        const response = await this.get<CommandStatus>(`/v1/commands/${commandId}`);
        return response.status === 200 && (response.body.status === 'succeeded' || response.body.status === 'failed')
          ? response.body
          : undefined;
      },
      timeoutMs,
      `command ${commandId} to settle`,
    );
  }
}

/** One event of a Server-Sent Events stream. */
export interface ServerSentEvent {
  id: string | undefined;
  event: string;
  data: string;
  /** When it was read, in epoch ms. */
  at: number;
}

/** An open Server-Sent Events stream: the events read so far, and the end of the stream. */
export interface EventStream {
  status: number;
  headers: Headers;
  readonly events: ServerSentEvent[];
  /** Resolves with every event once the server ends the stream (or `close` is called). */
  closed: Promise<ServerSentEvent[]>;
  /** Resolves once `count` events were read. */
  received(count: number, timeoutMs?: number): Promise<ServerSentEvent[]>;
  close(): void;
}

/** Reads the `text/event-stream` body of `response` into `events`, event by event. */
function readEvents(response: Response, controller: AbortController): EventStream {
  const events: ServerSentEvent[] = [];
  const closed = (async () => {
    if (!response.body) return events;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue; // a comment (keep-alive)
            const colon = line.indexOf(':');
            if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).replace(/^ /, ''));
          }
          if (fields.has('data')) events.push({ id: fields.get('id'), event: fields.get('event') ?? 'message', data: fields.get('data') ?? '', at: Date.now() });
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
    return events;
  })();
  return {
    status: response.status,
    headers: response.headers,
    events,
    closed,
    received: (count, timeoutMs = 20_000) =>
      waitFor(
        async () => (events.length >= count ? events.slice(0, count) : undefined),
        timeoutMs,
        () => `${count} events (got ${JSON.stringify(events)})`,
      ),
    close: () => controller.abort(),
  };
}

/** GET /v1/commands/:commandId: the shape the API answers with. */
export type CommandStatus = CommandStatusDto;

/** The 202 answer of a command route. */
export interface Accepted {
  commandId: string;
  statusUrl: string;
  userId?: string;
  productId?: string;
  orderId?: string;
}
