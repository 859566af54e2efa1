// Mutation testing of the pure core (`npm run mutation`; README, "Mutation testing"): every
// mutant of the desired state and the planner must make a test of the pure suites fail.
import process from 'node:process';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  // jest runs the suites as ES modules (taskcluster-client is ESM-only): see jest.config.js.
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  jest: {
    projectType: 'custom',
    configFile: 'test/mutation/jest.config.js',
    // Only the suites that import the mutated file run for its mutants.
    enableFindRelatedTests: true,
  },
  // Each mutant runs only the tests that reach its code.
  coverageAnalysis: 'perTest',
  mutate: ['src/desired-state/**/*.ts', 'src/reconciler/**/*.ts', '!src/**/index.ts'],
  // Imports, type-only code and module-level constants only run when a module loads: with
  // `ignoreStatic` their mutants are skipped instead of re-running every suite for each.
  ignoreStatic: true,
  // A run after a change re-tests only the mutants in changed code or covered by changed tests;
  // the file is committed so that everyone starts from the last full run.
  incremental: true,
  // scripts/mutation.sh runs one file at a time, each with its own file under incremental/.
  incrementalFile: 'test/mutation/incremental/all.json',
  reporters: ['clear-text', 'progress', 'html'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  // The machine is shared and small: two test runners, and room for a starved one before a
  // mutant is called a timeout (a timeout is not a kill: rerun those with a longer timeout).
  concurrency: Number(process.env.DS_MUTATION_CONCURRENCY ?? 2),
  timeoutMS: Number(process.env.DS_MUTATION_TIMEOUT_MS ?? 20_000),
  timeoutFactor: 3,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 95, low: 90, break: null },
};
