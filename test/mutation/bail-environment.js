// The node test environment, plus a bail across the whole run of one mutant: Stryker's jest
// runner turns jest's `bail` off (jest cannot bail when run programmatically), so every test that
// covers a mutant would run even after one has killed it. Once a test fails, every later test
// of the same mutant's run is skipped; a mutant counts as killed by its first failing test.
import process from 'node:process';
import NodeEnvironment from 'jest-environment-node';

const ACTIVE_MUTANT = '__STRYKER_ACTIVE_MUTANT__';
/** The mutant whose run has a failing test (module state: jest runs the suites in band). */
let failedMutant;

export default class BailEnvironment extends (NodeEnvironment.TestEnvironment ?? NodeEnvironment) {
  async handleTestEvent(event) {
    const mutant = process.env[ACTIVE_MUTANT];
    // The dry run (no active mutant) must run every test: it records which tests cover what.
    if (mutant === undefined) return;
    if (event.name === 'test_fn_failure' || event.name === 'hook_failure') failedMutant = mutant;
    // jest-circus checks `mode` right after this event: a skipped test costs nothing.
    if (event.name === 'test_start' && failedMutant === mutant) event.test.mode = 'skip';
  }
}
