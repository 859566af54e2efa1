// Runs the quick table and golden suites first and the property and fuzz suites last: with the
// bail environment, a mutant that a golden case kills never reaches the slow suites.
import Sequencer from '@jest/test-sequencer';

const SLOW = /(properties|fuzz)\.test\.ts$/;

export default class GoldenFirst extends (Sequencer.default ?? Sequencer) {
  sort(tests) {
    const rank = (test) => (SLOW.test(test.path) ? 1 : 0);
    return [...tests].sort((a, b) => rank(a) - rank(b) || a.path.localeCompare(b.path));
  }
}
