// docker-compose.yml, the Procfile and the Dockerfile describe the same processes: checked
// here without Docker, by reading the files.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isMap, parseDocument } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (name: string) => readFileSync(`${ROOT}${name}`, 'utf8');

/** docs/design.md §7: the process types. */
const PROCESS_TYPES = ['release', 'web', 'worker', 'relay', 'mailer', 'webhooks'] as const;

interface Healthcheck {
  test?: string | string[];
}
interface Service {
  image?: string;
  ports?: (string | { host_ip?: string })[];
  environment?: Record<string, string>;
  build?: unknown;
  command?: string | string[];
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition?: string }> | string[];
}
interface Compose {
  services: Record<string, Service>;
}

function loadCompose(): Compose {
  const document = parseDocument(read('docker-compose.yml'), { merge: true, prettyErrors: true });
  if (document.errors.length > 0) throw new Error(document.errors.map((error) => error.message).join('\n'));
  expect(isMap(document.contents)).toBe(true);
  return document.toJS({ maxAliasCount: 100 }) as Compose;
}

/** Procfile lines `type: command`. */
function loadProcfile(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of read('Procfile').split('\n')) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const match = /^([A-Za-z0-9_-]+):\s*(.+)$/.exec(line);
    if (!match?.[1] || !match[2]) throw new Error(`not a Procfile line: ${line}`);
    entries.set(match[1], match[2].trim());
  }
  return entries;
}

/** A command as argv; a string command is split on spaces, as compose does without a shell. */
function argv(command: string | string[] | undefined): string[] {
  if (command === undefined) return [];
  return Array.isArray(command) ? command : command.split(/\s+/).filter(Boolean);
}

/** `node dist/x/y.js` → `dist/x/y.js`; anything else → undefined. */
function nodeEntry(args: readonly string[]): string | undefined {
  return args[0] === 'node' && args.length === 2 && /^dist\/.+\.js$/.test(args[1] ?? '') ? args[1] : undefined;
}

/** The TypeScript source a `dist/…js` entry is compiled from (tsconfig.build.json: rootDir ".", outDir "dist"). */
function sourceOf(entry: string): string {
  return entry.replace(/^dist\//, '').replace(/\.js$/, '.ts');
}

function healthcheckText(service: Service | undefined): string {
  return argv(service?.healthcheck?.test).join(' ');
}

describe('Procfile', () => {
  it('names every process type once, each running a compiled entry that exists as a source file', () => {
    const procfile = loadProcfile();
    expect([...procfile.keys()].sort()).toEqual([...PROCESS_TYPES].sort());
    for (const [type, command] of procfile) {
      const entry = nodeEntry(argv(command));
      expect(entry, `${type}: ${command}`).toBeDefined();
      expect(existsSync(`${ROOT}${sourceOf(entry ?? '')}`), `${type}: ${sourceOf(entry ?? '')}`).toBe(true);
    }
  });

  it('compiles those sources to those paths', () => {
    const build = JSON.parse(read('tsconfig.build.json')) as { extends?: string; compilerOptions?: Record<string, unknown> };
    const base = JSON.parse(read('tsconfig.json')) as { compilerOptions: Record<string, unknown> };
    const options = { ...base.compilerOptions, ...build.compilerOptions };
    expect(options.outDir).toBe('dist');
    expect(options.rootDir).toBe('.');
  });
});

describe('docker-compose.yml', () => {
  it('is valid YAML with services', () => {
    const compose = loadCompose();
    expect(Object.keys(compose.services).length).toBeGreaterThan(0);
  });

  it('has a service for every Procfile type, running the same node entry', () => {
    const compose = loadCompose();
    const procfile = loadProcfile();
    for (const [type, command] of procfile) {
      const service = compose.services[type];
      expect(service, `service ${type}`).toBeDefined();
      expect(service?.build, `${type} is built from this repository`).toBeDefined();
      const entry = nodeEntry(argv(service?.command));
      expect(entry, `${type}: ${JSON.stringify(service?.command)}`).toBe(nodeEntry(argv(command)));
      expect(existsSync(`${ROOT}${sourceOf(entry ?? '')}`), `${type}: ${sourceOf(entry ?? '')}`).toBe(true);
    }
  });

  it('runs PostgreSQL, Redis (noeviction, append-only) and Mailpit with healthchecks', () => {
    const { services } = loadCompose();
    expect(services.postgres?.image).toMatch(/^postgres:/);
    expect(healthcheckText(services.postgres)).toMatch(/pg_isready/);

    const redis = services.redis;
    expect(redis?.image).toMatch(/^redis:/);
    const redisArgs = argv(redis?.command);
    expect(redisArgs[0]).toBe('redis-server');
    const option = (name: string) => redisArgs[redisArgs.indexOf(name) + 1];
    expect(redisArgs).toContain('--appendonly');
    expect(option('--appendonly')).toBe('yes');
    expect(redisArgs).toContain('--maxmemory-policy');
    expect(option('--maxmemory-policy')).toBe('noeviction');
    expect(healthcheckText(redis)).toMatch(/redis-cli.*ping/);

    expect(services.mailpit?.image).toMatch(/mailpit/);
    expect(healthcheckText(services.mailpit)).not.toBe('');
  });

  it('checks web on /health/ready and starts the roles after the release and healthy services', () => {
    const { services } = loadCompose();
    expect(healthcheckText(services.web)).toMatch(/\/health\/ready/);
    for (const type of PROCESS_TYPES.filter((name) => name !== 'release')) {
      const dependsOn = services[type]?.depends_on;
      expect(dependsOn, type).toBeDefined();
      expect(Array.isArray(dependsOn), `${type}: depends_on with conditions`).toBe(false);
      const conditions = dependsOn as Record<string, { condition?: string }>;
      expect(conditions.release?.condition, type).toBe('service_completed_successfully');
      expect(conditions.redis?.condition, type).toBe('service_healthy');
    }
    expect((services.release?.depends_on as Record<string, { condition?: string }>).postgres?.condition).toBe(
      'service_healthy',
    );
  });

  it('has the relay make the first attempts (ADR 0024) with what the mailer and webhooks services have, once Mailpit is healthy', () => {
    const { services } = loadCompose();
    const env = (type: string) => services[type]?.environment ?? {};
    expect(env('relay').RELAY_FIRST_ATTEMPT).toBe('${RELAY_FIRST_ATTEMPT:-true}');
    for (const name of ['SMTP_URL', 'MAIL_FROM', 'WEBHOOK_SECRET_KEYS', 'WEBHOOK_ALLOW_PRIVATE']) {
      expect(env('relay')[name], name).toBeDefined();
      expect(env('relay')[name], name).toBe(env('mailer')[name]);
      expect(env('relay')[name], name).toBe(env('webhooks')[name]);
    }
    expect((services.relay?.depends_on as Record<string, { condition?: string }>).mailpit?.condition).toBe('service_healthy');
  });
});

// The same rules are checked by the real Compose CLI in compose-config.test.ts; these hold
// without it.
describe('docker-compose.yml security', () => {
  const SECRETS = ['POSTGRES_PASSWORD', 'ADMIN_USER', 'ADMIN_PASSWORD', 'WEBHOOK_SECRET_KEYS'];

  it('publishes every port on 127.0.0.1 only', () => {
    const { services } = loadCompose();
    const ports = Object.entries(services).flatMap(([name, service]) => (service.ports ?? []).map((port) => [name, port] as const));
    expect(ports.length).toBeGreaterThan(0);
    for (const [name, port] of ports) {
      if (typeof port === 'string') expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
      else expect(port.host_ip, name).toBe('127.0.0.1');
    }
  });

  it('requires each secret with ${VAR:?…} and defaults none', () => {
    const text = read('docker-compose.yml');
    for (const name of SECRETS) {
      expect(text, name).toMatch(new RegExp(`\\$\\{${name}:\\?[^}]+\\}`));
      expect(text, name).not.toMatch(new RegExp(`\\$\\{${name}:?-`));
    }
    expect(text).not.toMatch(/dev-key|\$\{API_KEYS:-[^}]/);
  });
});

describe('Dockerfile', () => {
  const stages = () => {
    const lines = read('Dockerfile')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    const result: { from: string; lines: string[] }[] = [];
    for (const line of lines) {
      if (/^FROM\s/i.test(line)) result.push({ from: line, lines: [] });
      else result.at(-1)?.lines.push(line);
    }
    return result;
  };

  it('is multi-stage: it builds in one stage and runs in a last one with production dependencies only', () => {
    const all = stages();
    expect(all.length).toBeGreaterThanOrEqual(2);
    const runtime = all.at(-1);
    expect(runtime?.lines.some((line) => /^RUN\s.*\bnpm ci\b.*--omit=dev\b/.test(line))).toBe(true);
    expect(runtime?.lines.some((line) => /^COPY\s+--from=\S+\s+\S*dist\b/.test(line))).toBe(true);
    expect(all.slice(0, -1).some((stage) => stage.lines.some((line) => /^RUN\s.*npm run build\b/.test(line)))).toBe(true);
  });

  it('runs as a non-root user, by default the web entry of the Procfile', () => {
    const runtime = stages().at(-1);
    const users = runtime?.lines.filter((line) => /^USER\s/i.test(line)) ?? [];
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^USER\s+(root|0)(:|\s|$)/i);
    const cmd = runtime?.lines.find((line) => /^CMD\s/.test(line));
    const parsed = JSON.parse(cmd?.replace(/^CMD\s+/, '') ?? 'null') as string[];
    expect(nodeEntry(parsed)).toBe(nodeEntry(argv(loadProcfile().get('web'))));
  });
});
