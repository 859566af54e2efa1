import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'bench/results/**',
      'coverage/**',
      '.stryker-tmp/**',
      'reports/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    // Only the edges talk to Docker: the desired state and the planner stay pure.
    files: ['src/desired-state/**', 'src/reconciler/plan*.ts', 'src/reconciler/format*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ['dockerode', 'winston', 'fs', 'node:fs', 'child_process', 'node:child_process'] },
      ],
    },
  },
);
