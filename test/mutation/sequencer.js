// Runs the golden tables first (they kill most mutants, quickly), then the other example suites,
// and the property and fuzz suites last: with the bail (bail.js), a mutant that a golden case
// kills never loads the slow suites.
import Sequencer from '@jest/test-sequencer';

const rank = (test) =>
  /(plan\.table|payload)\.test\.ts$/.test(test.path)
    ? 0
    : /(properties|fuzz)\.test\.ts$/.test(test.path)
      ? 2
      : 1;

export default class GoldenFirst extends (Sequencer.default ?? Sequencer) {
  sort(tests) {
    return [...tests].sort((a, b) => rank(a) - rank(b) || a.path.localeCompare(b.path));
  }
}
