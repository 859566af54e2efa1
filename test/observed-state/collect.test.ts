/** `mapLimit` is how the observer inspects many objects at once; callers zip results with inputs. */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { mapLimit } from '../../src/observed-state/collect.js';

describe('mapLimit', () => {
  it('returns results in input order whatever order they finish in, at most 8 in flight', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 15 }), { maxLength: 30 }), async (delays) => {
        let inFlight = 0;
        let most = 0;
        const results = await mapLimit(delays, async (delay) => {
          most = Math.max(most, ++inFlight);
          await new Promise((r) => setTimeout(r, delay));
          inFlight -= 1;
          return `done after ${delay}`;
        });
        expect(results).toEqual(delays.map((delay) => `done after ${delay}`));
        expect(most).toBeLessThanOrEqual(8);
      }),
      { numRuns: 40 },
    );
  });
});
