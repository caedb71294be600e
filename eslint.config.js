// Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O libraries,
// and activities only as types (as temporalio/samples-typescript's shared ESLint config does).
const tseslint = require('typescript-eslint');
const { builtinModules } = require('node:module');

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.data/**', '.tools/**', 'jest.config.js', 'eslint.config.js'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [...nodeBuiltins, 'pg', 'knex', 'dockerode', '@unraid/libvirt', 'express', 'pino', 'prom-client',
          '@temporalio/activity', '@temporalio/worker', '@temporalio/client']
          .map((name) => ({ name, message: 'workflow code must stay deterministic: no I/O here, use an activity' })),
        patterns: [
          { group: ['**/activities/**', '**/db/**', '**/drivers/**', '**/host/**', '**/api/**'], allowTypeImports: true,
            message: 'workflows import activities, drivers and the database only as types' },
        ],
      }],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'fetch', 'process'],
    },
  },
);
