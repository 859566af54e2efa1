/**
 * `mapLimit` is how the observer inspects many objects at once; callers zip results with inputs.
 * `collectSnapshot` reports the networks a scope joins without owning them.
 */
import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { collectSnapshot, mapLimit } from '../../src/observed-state/collect.js';
import { testDocker, testLabels, testOwnerId } from '../support/docker.js';

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

describe('collectSnapshot of a scope with external networks (real engine)', () => {
  it('reports each named network that exists, by its exact name, and nothing else of it', async () => {
    const docker = testDocker();
    const name = `gw-task-${randomBytes(6).toString('hex')}-0`;
    // Docker's name filter matches substrings: a longer name must not pass for the one asked for.
    const ids: string[] = [];
    try {
      for (const n of [name, `${name}0`, `x${name}`])
        ids.push(await docker.createNetwork({ Name: n, Driver: 'bridge', Labels: testLabels() }));
      const snapshot = await collectSnapshot(docker, {
        ownerId: testOwnerId('collect-external'),
        taskId: 'fN1SbArXTPSVFNUvaOlinQ',
        runId: 0,
        images: [],
        externalNetworks: [name, 'gw-task-absent-0'],
      });
      expect(snapshot.external).toEqual([{ id: ids[0], name, labels: testLabels(), containerIds: [] }]);
      expect(snapshot.networks).toEqual([]);
      expect(snapshot.foreign).toEqual([]);
    } finally {
      for (const id of ids) await docker.removeNetwork(id).catch(() => {});
    }
  });

  it('leaves the field out when the scope names none', async () => {
    const snapshot = await collectSnapshot(testDocker(), {
      ownerId: testOwnerId('collect-external'),
      taskId: 'fN1SbArXTPSVFNUvaOlinQ',
      runId: 0,
      images: [],
    });
    expect(snapshot).not.toHaveProperty('external');
  });
});
