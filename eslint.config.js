import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', 'coverage/**'] },
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
    // Plain JavaScript that Node runs as it is (scripts/bundle.mjs, the packaged-module tests'
    // consumers): Node's globals.
    files: ['**/*.{mjs,cjs}'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', Buffer: 'readonly' },
    },
  },
  {
    // The packaging tests' consumers are embedders written as CommonJS: require() is their point.
    files: ['test/package/consumer/**'],
    languageOptions: { globals: { require: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
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
