// The dependency rule (docs/design.md §2) is enforced by dependency-cruiser with the rules in
// .dependency-cruiser.cjs. These tests prove the rules catch what they are meant to catch,
// using a fixture laid out like the repository, and that the real tree obeys them.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixtureRoot = fileURLToPath(new URL('./fixture/', import.meta.url));

/** Cruises `dirs` (relative to `baseDir`) with the repository's own rule set and options. */
async function cruiseWithRepoRules(baseDir: string, dirs: string[]): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions(`${repoRoot}.dependency-cruiser.cjs`);
  // The CLI reads `tsConfig.fileName` itself; the programmatic API wants it parsed.
  const tsConfig = extractTSConfig(`${repoRoot}tsconfig.json`);
  const existing = dirs.filter((dir) => existsSync(`${baseDir}${dir}`));
  const result = await cruise(
    existing,
    { ...options, baseDir },
    {},
    { tsConfig },
  );
  // Without an outputType, `output` is the result object rather than a formatted report.
  return result.output as ICruiseResult;
}

const summarise = (violations: IViolation[]): string[] =>
  violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();

/** A package resolved from the fixture (`../../../node_modules/x/dist/index.js`) → `node_modules/x`. */
const outsideNodeModules = (line: string): string => line.replace(/(?:\.\.\/)*node_modules\/((?:@[^/]+\/)?[^/]+)\/\S*/, 'node_modules/$1');

describe('layer rule (dependency-cruiser)', () => {
  it('reports each forbidden import in the fixture under the rule it breaks', async () => {
    const { summary } = await cruiseWithRepoRules(fixtureRoot, ['src', 'workers', 'queues']);
    const violations = summary.violations;

    expect(summarise(violations).map(outsideNodeModules)).toEqual([
      'application-not-to-outer-layers: src/application/uses-api.ts -> src/api/route.ts',
      'domain-imports-only-domain: src/domain/a.ts -> src/infrastructure/b.ts',
      'domain-imports-only-domain: src/domain/uses-builtin.ts -> crypto',
      'entries-not-imported: src/main/roles/uses-entry.ts -> src/main/entries/web.ts',
      'infrastructure-not-to-api-or-workers: src/infrastructure/uses-api.ts -> src/api/route.ts',
      'main-only-from-main: src/api/uses-main.ts -> src/main/compose.ts',
      'main-only-from-main: workers/uses-main.ts -> src/main/compose.ts',
      'no-circular: src/domain/cycle-x.ts -> src/domain/cycle-y.ts',
      'queues-bullmq-types-only: queues/uses-bullmq-value.ts -> node_modules/bullmq',
      'queues-only-contract: queues/uses-infrastructure.ts -> src/infrastructure/b.ts',
      'queues-only-contract: queues/uses-redis.ts -> node_modules/ioredis',
      'src-not-to-workers: src/api/route.ts -> workers/processor.ts',
      'workers-not-to-main: workers/uses-main.ts -> src/main/compose.ts',
    ]);
    // Only `error` severity fails `npm run layers`.
    expect(violations.every((v) => v.rule.severity === 'error')).toBe(true);
  });

  it('finds no violations in the real src/, workers/ and queues/', async () => {
    const { modules, summary } = await cruiseWithRepoRules(repoRoot, ['src', 'workers', 'queues']);

    // Guard against a vacuous pass: the cruise must actually have seen the domain.
    expect(modules.map((m) => m.source)).toContain('src/domain/index.ts');
    expect(summarise(summary.violations)).toEqual([]);
  });
});
