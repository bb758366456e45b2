// ESLint flat config: typescript-eslint's type-checked recommended rules on every TypeScript
// file in tsconfig.json. The rules that matter most here are no-floating-promises and
// no-misused-promises: a forgotten await in a worker is a lost job (STYLE.md).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores([
    'dist/',
    'coverage/',
    'var/',
    'reports/',
    'test/artifacts/',
    // Deliberate layer violations for test/layers/layer-rule.test.ts.
    'test/layers/fixture/',
  ]),

  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // `async` without `await` is how a callback satisfies a Promise-returning port
      // (`uow.run(ctx, async (repos) => { ... })`), and it turns a synchronous throw into a
      // rejection. A forgotten await is caught by no-floating-promises instead.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
    },
  },

  // Plain JavaScript config files (this file, .dependency-cruiser.cjs) are not part of the
  // TypeScript program, so type-aware rules cannot run on them.
  {
    files: ['**/*.{js,cjs,mjs}'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // typescript-eslint sets sourceType 'module' everywhere; .cjs needs `module`/`require`.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },

  // Tests: mocks, `expect(fake.method)` and untyped response bodies (`res.json()`) make
  // these rules noisy without catching real defects. no-floating-promises stays on.
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
