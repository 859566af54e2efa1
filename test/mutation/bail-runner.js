// jest's in-band runner, plus the bail of a mutant's run (see bail.js): once a test has failed,
// no further suite is loaded (loading one, with its imports, costs more than its skipped tests).
import TestRunner from 'jest-runner';
import { failed } from './bail.js';

export default class BailRunner extends (TestRunner.default ?? TestRunner) {
  async runTests(tests, watcher, options) {
    for (const test of tests) {
      if (failed()) return;
      await super.runTests([test], watcher, options);
    }
  }
}
