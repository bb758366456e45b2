// The dependency rule from docs/design.md §2, checked in CI by `npm run layers`.
// Dependencies point inward: domain <- application <- infrastructure, api, workers;
// queues/ (the contract between processes) sits beside the domain; src/main holds the
// composition roots and may import anything, and only its entry points are never imported.
//
// Paths are matched relative to the directory dependency-cruiser runs from (the repo root;
// test/layers/layer-rule.test.ts sets `baseDir` to a fixture laid out the same way).

/**
 * A forbidden dependency. Every rule is an error: only errors fail `npm run layers`.
 * @param {string} name
 * @param {string} comment what the rule keeps out, and what to do instead (printed with a violation)
 * @param {import('dependency-cruiser').IFromRestriction} from
 * @param {import('dependency-cruiser').IToRestriction} to
 * @returns {import('dependency-cruiser').IForbiddenRuleType}
 */
const forbid = (name, comment, from, to) => ({ name, severity: 'error', comment, from, to });

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    forbid(
      'domain-imports-only-domain',
      'src/domain is plain TypeScript: it may import nothing outside src/domain - no npm ' +
        'package (ORM, zod, ...), no node: builtin, no other layer. Map entities from ' +
        'src/infrastructure instead.',
      { path: '^src/domain/' },
      { pathNot: '^src/domain/' },
    ),
    forbid(
      'application-not-to-outer-layers',
      'src/application (use cases, queries, ports) may depend on src/domain only among the ' +
        'layers; it must not import infrastructure, api, the composition root, queues/ or ' +
        'workers/. Declare a port in src/application/<capability> and implement it in infrastructure.',
      { path: '^src/application/' },
      { path: '^(src/(infrastructure|api|main)|queues|workers)/' },
    ),
    forbid(
      'infrastructure-not-to-api-or-workers',
      'Adapters in src/infrastructure must not import the HTTP edge (src/api) or workers/.',
      { path: '^src/infrastructure/' },
      { path: '^(src/api|workers)/' },
    ),
    forbid(
      'src-not-to-workers',
      'Only the composition root (src/main) may import workers/; the rest of src/ must not ' +
        'know about worker entry points or processors.',
      { path: '^src/', pathNot: '^src/main/' },
      { path: '^workers/' },
    ),
    forbid(
      'queues-only-contract',
      'queues/ is the contract between processes: queue and job names, zod payloads, job ' +
        'options. It may import src/domain, zod and bullmq (types only, see the next rule); ' +
        'no adapter (ioredis, src/infrastructure), no other layer, no other package.',
      { path: '^queues/' },
      { pathNot: ['^queues/', '^src/domain/', 'node_modules/(zod|bullmq)/'] },
    ),
    forbid(
      'queues-bullmq-types-only',
      'queues/ describes jobs with bullmq types (DefaultJobOptions, BackoffStrategy) but runs ' +
        'nothing of it: use `import type`.',
      { path: '^queues/' },
      { path: 'node_modules/bullmq/', dependencyTypesNot: ['type-only'] },
    ),
    forbid(
      'workers-not-to-main',
      'workers/ holds processors, thin adapters from a job to a use case; the composition ' +
        'root (src/main) builds them and hands them their dependencies, never the reverse.',
      { path: '^workers/' },
      { path: '^src/main/' },
    ),
    forbid(
      'main-only-from-main',
      'src/main is the composition root: it wires the other layers, which must not know it. ' +
        'Pass what a module needs as an argument instead of importing it from src/main.',
      { pathNot: '^src/main/' },
      { path: '^src/main/' },
    ),
    forbid(
      'entries-not-imported',
      'src/main/entries/* are process entry points (Procfile): they run on import. Import the ' +
        'role\'s root from src/main/roles instead.',
      {},
      { path: '^src/main/entries/' },
    ),
    forbid(
      'no-circular',
      'This module is part of an import cycle. Break it (move the shared piece down a ' +
        'layer, or invert the dependency with a port). Cycles made only of `import type` are ' +
        'erased at compile time and are not reported.',
      {},
      {
        circular: true,
        viaOnly: { dependencyTypesNot: ['type-only'] },
      },
    ),
    forbid(
      'not-to-unresolvable',
      'This import does not resolve to a file on disk (a missing npm package, a typo, or a ' +
        'relative import whose target was moved).',
      {},
      { couldNotResolve: true },
    ),
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    // Fixtures for the rule's own test violate the rules on purpose.
    exclude: { path: ['^test/layers/fixture/'] },
    moduleSystems: ['es6', 'cjs'],
    // Also see `import type` dependencies: a type-only import of infrastructure from the
    // domain breaks the rule just as much as a value import does.
    tsPreCompilationDeps: true,
    // tsconfig.json: NodeNext resolution, so `./x.js` specifiers resolve to `./x.ts`.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.d.ts', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
