// Property tests during a mutation run: a tenth of the runs (DS_PROPERTY_SCALE, read by the
// suites), a fixed seed so that a mutant is judged the same way every time (never killed or
// kept by luck), and no shrinking: a mutant is killed by the first counterexample, and its
// smallest form is of no use to anyone.
import fc from 'fast-check';

process.env.DS_PROPERTY_SCALE ??= '0.1';
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: 1812, endOnFailure: true, numRuns: 10 });
