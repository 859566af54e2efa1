// The node test environment, plus the bail of a mutant's run (see bail.js): once a test has
// failed, the later tests of the suite are skipped.
import NodeEnvironment from 'jest-environment-node';
import { failed, recordFailure } from './bail.js';

export default class BailEnvironment extends (NodeEnvironment.TestEnvironment ?? NodeEnvironment) {
  async handleTestEvent(event) {
    if (event.name === 'test_fn_failure' || event.name === 'hook_failure') recordFailure();
    // jest-circus checks `mode` right after this event: a skipped test costs nothing.
    if (event.name === 'test_start' && failed()) event.test.mode = 'skip';
  }
}
