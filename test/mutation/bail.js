// One mutant's run stops at its first failing test: Stryker's jest runner turns jest's `bail`
// off (jest cannot bail when run programmatically), so every test that covers a mutant would
// run even after one has killed it. The environment records the failure, and the runner starts
// no further suite for that mutant. The record is an environment variable of the jest process:
// both live there (not in a suite's sandbox), and jest runs the suites of a mutant in band.
import process from 'node:process';

const ACTIVE_MUTANT = '__STRYKER_ACTIVE_MUTANT__';
const FAILED_MUTANT = 'DS_MUTATION_FAILED_MUTANT';

/** The mutant of this run; undefined in the dry run, which must run every test to map coverage. */
export function activeMutant() {
  return process.env[ACTIVE_MUTANT];
}

export function recordFailure() {
  const mutant = activeMutant();
  if (mutant !== undefined) process.env[FAILED_MUTANT] = mutant;
}

export function failed() {
  const mutant = activeMutant();
  return mutant !== undefined && process.env[FAILED_MUTANT] === mutant;
}
