// Lint with type information (house style): floating promises, misused promises, exhaustive
// switches and strict equality are errors; Nx module boundaries keep the dependency direction
// dashboard -> api-client, api -> proxy -> fastpath (native addon) -> node built-ins.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';

const moduleBoundaries = {
  allow: [],
  depConstraints: [
    // libs/proxy may use libs/fastpath (its native addon, also scope:proxy).
    { sourceTag: 'scope:proxy', onlyDependOnLibsWithTags: ['scope:proxy'] },
    { sourceTag: 'scope:api', onlyDependOnLibsWithTags: ['scope:proxy'] },
    { sourceTag: 'scope:dashboard', onlyDependOnLibsWithTags: ['scope:api-client'] },
    { sourceTag: 'scope:api-client', onlyDependOnLibsWithTags: [] },
    { sourceTag: 'scope:e2e', onlyDependOnLibsWithTags: [] },
  ],
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.next/**', '**/out/**', 'libs/api-client/src/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { '@nx': nx },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-extraneous-class': 'off',
      eqeqeq: ['error', 'always'],
      '@nx/enforce-module-boundaries': ['error', moduleBoundaries],
    },
  },
  {
    // The engine is Node built-ins only: no framework, ORM or validation library may leak in.
    files: ['libs/proxy/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@nestjs/*', 'typeorm', 'class-validator', 'class-transformer', 'react', 'next', 'yaml'], message: 'libs/proxy uses Node built-ins only.' }] },
      ],
    },
  },
  {
    // The e2e tier drives the built service from outside and imports no lib, except the socket
    // fixtures it shares with the libs' specs (the blackhole port, withDeadline): a test-only
    // subpath that loads no addon and is not part of @strait/fastpath's main entry point.
    files: ['test/src/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        { ...moduleBoundaries, allow: ['@strait/fastpath/testing'] },
      ],
    },
  },
  {
    // node:test's describe/it return promises that the runner itself awaits.
    files: ['**/*.spec.ts', 'test/src/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  prettier,
);
