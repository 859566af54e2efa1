// The jest configuration of a mutation run (`npm run mutation`, see stryker.config.mjs): only the
// pure suites, quick golden tables before property suites, a run that stops at its first failing
// test, and property tests with fewer runs, a fixed seed and no shrinking.
import base from '../../jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/test/reconciler', '<rootDir>/test/desired-state'],
  // Relative to the root (Stryker resolves it from the working directory, not through <rootDir>).
  testEnvironment: './test/mutation/bail-environment.js',
  runner: '<rootDir>/test/mutation/bail-runner.js',
  testSequencer: '<rootDir>/test/mutation/sequencer.js',
  setupFilesAfterEnv: ['<rootDir>/test/mutation/setup.ts'],
};
