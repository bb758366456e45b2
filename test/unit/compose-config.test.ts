// docker-compose.yml read by the real Compose CLI: `docker compose config` needs no Docker
// engine. It must refuse to render without the secrets (no development defaults left in it) and,
// with them, publish nothing beyond 127.0.0.1 and hand the processes a configuration that a
// production process accepts.
//
// The CLI is the binary CONVEYOR_COMPOSE names (.ci/run installs one and sets it), else the one
// .ci/run left in its cache, else `docker compose` or a v2 `docker-compose` on PATH. In CI a
// missing CLI fails every test here; elsewhere they are skipped (the describe names the reason).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/infrastructure/config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');

/** The secrets docker-compose.yml requires, each with a value production accepts. */
const SECRETS = {
  POSTGRES_PASSWORD: 'f3a9c1d27be845e0a6b1c93d5e7f2a40',
  ADMIN_USER: 'ops',
  ADMIN_PASSWORD: 'board-password-0123456789abcdef0123',
  // <key id>:<base64 of 32 bytes>, as `k1:$(openssl rand -base64 32)` makes one.
  WEBHOOK_SECRET_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
} as const;

function isComposeV2(command: string[]): boolean {
  const [file, ...args] = command;
  if (!file) return false;
  const result = spawnSync(file, [...args, 'version'], { encoding: 'utf8' });
  return result.status === 0 && /version v?2\./.test(result.stdout);
}

/** The Compose v2 CLI as argv, or undefined when this machine has none. */
function findCompose(): string[] | undefined {
  const cache = path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'conveyor/docker-compose');
  const candidates = [
    process.env.CONVEYOR_COMPOSE ? [process.env.CONVEYOR_COMPOSE] : undefined,
    [path.join(cache, 'usr/libexec/docker/cli-plugins/docker-compose')],
    ['docker', 'compose'],
    ['docker-compose'],
  ];
  return candidates.find((command): command is string[] => command !== undefined && isComposeV2(command));
}

const compose = findCompose();
const inCi = process.env.CI === 'true';

// A home and an empty env file of our own: no .env, Docker config or COMPOSE_* variable of the
// machine running the test changes what compose reads.
const scratch = mkdtempSync(path.join(tmpdir(), 'conveyor-compose-'));
const emptyEnvFile = path.join(scratch, 'empty.env');
writeFileSync(emptyEnvFile, '');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Rendered {
  status: number | null;
  stdout: string;
  stderr: string;
}

function composeConfig(env: Record<string, string>): Rendered {
  const [file, ...args] = compose ?? [];
  if (!file) throw new Error('no Compose v2 CLI on this machine: .ci/run installs one (its "docker compose" step), or set CONVEYOR_COMPOSE');
  const result = spawnSync(
    file,
    [...args, '--project-directory', ROOT, '-f', COMPOSE_FILE, '--env-file', emptyEnvFile, 'config', '--format', 'json'],
    { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch, ...env } },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Port {
  host_ip?: string;
  published?: string;
  target: number;
}
interface RenderedService {
  environment?: Record<string, string | null>;
  ports?: Port[];
}

function renderedServices(env: Record<string, string>): Record<string, RenderedService> {
  const rendered = composeConfig(env);
  expect(rendered.status, rendered.stderr).toBe(0);
  return (JSON.parse(rendered.stdout) as { services: Record<string, RenderedService> }).services;
}

describe('docker compose config (the real Compose CLI)', () => {
  describe.skipIf(!compose && !inCi)(`with ${compose?.join(' ') ?? 'no Compose CLI on this machine'}`, () => {
    it('fails without the secrets', () => {
      const rendered = composeConfig({});
      expect(rendered.status).not.toBe(0);
      expect(rendered.stderr).toMatch(/required variable (POSTGRES_PASSWORD|ADMIN_USER|ADMIN_PASSWORD|WEBHOOK_SECRET_KEYS) is missing a value: set \1/);
    });

    it.each(Object.keys(SECRETS))('fails without %s, naming it and what to set', (name) => {
      const rendered = composeConfig({ ...SECRETS, [name]: '' });
      expect(rendered.status).not.toBe(0);
      expect(rendered.stderr).toContain(`required variable ${name} is missing a value: set ${name}`);
    });

    it('renders with the secrets, publishing ports on 127.0.0.1 only', () => {
      const services = renderedServices(SECRETS);
      const published = Object.entries(services).flatMap(([name, service]) =>
        (service.ports ?? []).map((port) => `${name} ${port.host_ip ?? '0.0.0.0'}:${port.published}->${port.target}`),
      );
      expect(published.sort()).toEqual(['mailpit 127.0.0.1:8025->8025', 'web 127.0.0.1:3000->3000']);
      expect(services.postgres?.environment?.POSTGRES_PASSWORD).toBe(SECRETS.POSTGRES_PASSWORD);
    });

    it('hands every conveyor process a configuration production accepts, with no development default', () => {
      const services = renderedServices(SECRETS);
      for (const name of ['release', 'web', 'worker', 'relay', 'mailer', 'webhooks']) {
        const environment = services[name]?.environment ?? {};
        const env = Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, value ?? '']));
        expect(env.NODE_ENV, name).toBe('production');
        expect(env.DATABASE_URL, name).toBe(`postgres://postgres:${SECRETS.POSTGRES_PASSWORD}@postgres:5432/conveyor`);
        const config = loadConfig(env);
        expect(config.admin, name).toEqual({ user: SECRETS.ADMIN_USER, password: SECRETS.ADMIN_PASSWORD });
        expect(config.apiKeys, name).toEqual([]);
        expect(config.webhookAllowPrivate, name).toBe(false);
        expect(config.defaultsApplied, name).toEqual([]);
      }
    });

    it('passes the deployer\'s values on, so that the processes refuse weak ones', () => {
      const services = renderedServices({ ...SECRETS, ADMIN_PASSWORD: 'admin', API_KEYS: 'dev-key', WEBHOOK_ALLOW_PRIVATE: 'true' });
      const env = Object.fromEntries(Object.entries(services.web?.environment ?? {}).map(([key, value]) => [key, value ?? '']));
      expect(() => loadConfig(env)).toThrow(/API_KEYS: entry #1 is the development key[\s\S]*ADMIN_PASSWORD: "admin" is the development password[\s\S]*WEBHOOK_ALLOW_PRIVATE: true/);
    });
  });
});
