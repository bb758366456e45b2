import type { Principal } from '../../application/access/principal.js';
import type { ActiveKey } from './pg-api-keys.js';

/** Where the active keys come from (PgApiKeys). */
export interface ActiveKeySource {
  active(): Promise<ActiveKey[]>;
  touch(ids: string[], at: Date): Promise<void>;
}

export interface ApiKeyDirectoryOptions {
  /** How often the active keys are read again: a revoked key stops working within this (1 s). */
  refreshMs?: number;
  /** The keys could not be read (reported once per outage). */
  onError?: (error: unknown) => void;
  /** `last_used_at` could not be written (those uses are not recorded). */
  onUseNotRecorded?: (error: unknown) => void;
}

/**
 * The active API keys of the `api_keys` table, held in memory by each web process and read
 * again every second. Authenticating a request is then a map lookup, with no round trip; a key
 * revoked on any replica, or by the CLI, is gone from every process within one refresh (the
 * issue asks for 5 s), and a new key works within one. When PostgreSQL cannot be read, the last
 * keys read stay in force (intake needs only Redis), and the error is reported once per outage.
 * `last_used_at` is written at most once per refresh, for the keys used since the last one.
 */
export class ApiKeyDirectory {
  private keys = new Map<string, Principal>();
  private used = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failing = false;
  private readonly refreshMs: number;

  constructor(
    private readonly source: ActiveKeySource,
    private readonly options: ApiKeyDirectoryOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 1000;
  }

  /** Reads the keys once (start-up fails if it cannot), then every `refreshMs`. */
  async start(): Promise<void> {
    await this.refresh();
    this.schedule();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.flushUsed().catch(() => undefined);
  }

  /** The principal of the key whose SHA-256 (hex) is `hash`, if the key is active. */
  lookup(hash: string): Principal | undefined {
    const principal = this.keys.get(hash);
    if (principal) this.used.add(principal.keyId);
    return principal;
  }

  /** Reads the active keys now. */
  async refresh(): Promise<void> {
    const active = await this.source.active();
    this.keys = new Map(
      active.map((key) => [
        key.hash,
        { keyId: key.id, name: key.name, scopes: new Set(key.scopes), rateLimitPerMinute: key.rateLimitPerMinute },
      ]),
    );
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.cycle().finally(() => {
        this.running = undefined;
        if (this.timer !== undefined) this.schedule();
      });
    }, this.refreshMs);
    this.timer.unref();
  }

  private async cycle(): Promise<void> {
    try {
      // A read that hangs (a partition, an exhausted pool) would stop the refreshes without a
      // word, and with them revocation: it counts as a failure after a few seconds.
      await withTimeout(this.refresh(), Math.max(5 * this.refreshMs, 3000));
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.options.onError?.(error);
      this.failing = true;
    }
    await this.flushUsed().catch((error: unknown) => this.options.onUseNotRecorded?.(error));
  }

  private async flushUsed(): Promise<void> {
    if (this.used.size === 0) return;
    const ids = [...this.used];
    this.used = new Set();
    await this.source.touch(ids, new Date());
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`reading the API keys took more than ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
