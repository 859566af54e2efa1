/**
 * Reading a container list entry and comparing it with the cached container, one rule at a time.
 * The `Status` texts are dockerd 20.10's (seen on the engine: `docker ps -a` of containers made to
 * be in each state).
 */
import { describe, expect, it } from '@jest/globals';
import type { ContainerSummary } from '../../src/docker/client.js';
import {
  compareListed,
  parseHumanDuration,
  parseListStatus,
  type ListContext,
} from '../../src/observed-state/list-entry.js';
import type { ObservedContainer } from '../../src/observed-state/types.js';
import { humanDuration } from '../support/fake-docker.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;

describe('parseListStatus', () => {
  it.each([
    ['Up 6 seconds (healthy)', { state: 'running', health: 'healthy', up: { minMs: 6 * S, maxMs: 7 * S } }],
    [
      'Up 4 seconds (unhealthy)',
      { state: 'running', health: 'unhealthy', up: { minMs: 4 * S, maxMs: 5 * S } },
    ],
    [
      'Up 2 seconds (health: starting)',
      { state: 'running', health: 'starting', up: { minMs: 2 * S, maxMs: 3 * S } },
    ],
    ['Up Less than a second', { state: 'running', health: 'none', up: { minMs: -Infinity, maxMs: S } }],
    ['Up About a minute', { state: 'running', health: 'none', up: { minMs: MIN, maxMs: 2 * MIN } }],
    ['Exited (3) 4 seconds ago', { state: 'exited', exitCode: 3, ago: { minMs: 4 * S, maxMs: 5 * S } }],
    [
      'Exited (137) Less than a second ago',
      { state: 'exited', exitCode: 137, ago: { minMs: -Infinity, maxMs: S } },
    ],
    ['Created', { state: 'created' }],
    ['Removal In Progress', { state: 'removing' }],
    ['Dead', { state: 'dead' }],
  ])('%s', (text, expected) => {
    expect(parseListStatus(text)).toEqual(expected);
  });

  it.each([
    'Up 1 second (Paused)',
    'Restarting (1) 3 seconds ago',
    'Up 3 seconds (health: unknown)',
    'Up 3 fortnights',
    'Exited (x) 3 seconds ago',
    '',
    'Up 75 seconds',
  ])('does not read %j', (text) => {
    expect(parseListStatus(text)).toBeUndefined();
  });
});

describe('parseHumanDuration', () => {
  it("gives a span that holds the duration go-units' HumanDuration rendered", () => {
    const durations = [0, 999, 1_000, 1_999, 59_999, 60_000, 119_999, 120_000, 3_599_999, 3_600_000];
    for (let ms = 1; ms < 3 * 365 * 24 * H; ms = Math.ceil(ms * 1.37) + 17) durations.push(ms);
    for (const ms of durations) {
      const span = parseHumanDuration(humanDuration(ms));
      expect({
        ms,
        text: humanDuration(ms),
        holds: span !== undefined && span.minMs <= ms && ms < span.maxMs,
      }).toEqual({
        ms,
        text: humanDuration(ms),
        holds: true,
      });
    }
  });

  it('reads the older wording too (1 seconds; hours rounded down)', () => {
    expect(parseHumanDuration('1 seconds')).toEqual({ minMs: S, maxMs: 2 * S });
    const span = parseHumanDuration('2 hours')!;
    expect(span.minMs <= 2.7 * H && 2.7 * H < span.maxMs).toBe(true);
  });
});

const NOW = Date.parse('2026-12-02T12:00:30.000Z');
const NET = 'n'.repeat(64);

function cached(overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: 'c'.repeat(64),
    name: 'ds-T-0_web',
    labels: { a: '1', b: '2' },
    image: 'img:1',
    imageId: 'sha256:' + 'f'.repeat(64),
    state: 'running',
    exitCode: 0,
    oomKilled: false,
    health: 'healthy',
    networks: { 'ds-T-0': { networkId: NET, aliases: ['web'], ipAddress: '10.231.3.2' } },
    createdAt: '2026-12-02T12:00:00.000Z',
    startedAt: '2026-12-02T12:00:00.500Z',
    ...overrides,
  };
}

/** The list entry dockerd gives for `cached()` at NOW (30 s after its start). */
function summary(overrides: Record<string, unknown> = {}): ContainerSummary {
  return {
    Id: 'c'.repeat(64),
    Names: ['/ds-T-0_web'],
    Image: 'img:1',
    ImageID: 'sha256:' + 'f'.repeat(64),
    Labels: { b: '2', a: '1' },
    State: 'running',
    Status: 'Up 29 seconds (healthy)',
    NetworkSettings: {
      Networks: { 'ds-T-0': { NetworkID: NET, IPAddress: '10.231.3.2', Aliases: null, EndpointID: 'e' } },
    },
    ...overrides,
  } as unknown as ContainerSummary;
}

const context: ListContext = { listedAfterMs: NOW };

describe('compareListed', () => {
  it('agrees with an entry that shows the cached container, and keeps the cached value', () => {
    const c = cached();
    const verdict = compareListed(summary(), c, context);
    expect(verdict).toEqual({ kind: 'agrees', container: c });
    // The very object: nothing to copy when the list adds nothing.
    expect(verdict.kind === 'agrees' && verdict.container).toBe(c);
  });

  it.each<[string, Record<string, unknown>, Partial<ObservedContainer>, string]>([
    ['state', { State: 'exited', Status: 'Exited (0) 1 second ago' }, {}, 'state running→exited'],
    ['a status text not read', { Status: 'Up 29 seconds (Paused)' }, {}, 'status'],
    ['a status of another state than State', { Status: 'Created' }, {}, 'status'],
    ['health', { Status: 'Up 29 seconds (unhealthy)' }, {}, 'health healthy→unhealthy'],
    ['health gone', { Status: 'Up 29 seconds' }, {}, 'health healthy→none'],
    ['image id', { ImageID: 'sha256:' + 'e'.repeat(64) }, {}, 'image id'],
    ['name', { Names: ['/ds-T-0_other'] }, {}, 'name'],
    ['a label value', { Labels: { a: '1', b: '3' } }, {}, 'labels'],
    ['a label more', { Labels: { a: '1', b: '2', c: '3' } }, {}, 'labels'],
    [
      'a network more',
      {
        NetworkSettings: {
          Networks: {
            'ds-T-0': { NetworkID: NET, IPAddress: '10.231.3.2' },
            x: { NetworkID: 'x', IPAddress: '10.0.0.2' },
          },
        },
      },
      {},
      'networks',
    ],
    ['a network less', { NetworkSettings: { Networks: {} } }, {}, 'networks'],
    [
      'a network id',
      { NetworkSettings: { Networks: { 'ds-T-0': { NetworkID: 'other', IPAddress: '10.231.3.2' } } } },
      {},
      'networks',
    ],
    [
      'an address',
      { NetworkSettings: { Networks: { 'ds-T-0': { NetworkID: NET, IPAddress: '10.231.3.9' } } } },
      {},
      'networks',
    ],
    ['up for less than the cached start implies', { Status: 'Up 28 seconds (healthy)' }, {}, 'restarted'],
    ['no start time and no bound', {}, { startedAt: undefined }, 'start time unknown'],
    [
      'exit code',
      { State: 'exited', Status: 'Exited (2) 10 seconds ago', NetworkSettings: { Networks: {} } },
      { state: 'exited', exitCode: 1, health: 'none', networks: {}, finishedAt: '2026-12-02T12:00:20.000Z' },
      'exit code 1→2',
    ],
    [
      'exited more recently than cached',
      { State: 'exited', Status: 'Exited (1) 5 seconds ago', NetworkSettings: { Networks: {} } },
      { state: 'exited', exitCode: 1, health: 'none', networks: {}, finishedAt: '2026-12-02T12:00:20.000Z' },
      'exited again',
    ],
    [
      'exited with no cached finish time',
      { State: 'exited', Status: 'Exited (1) 10 seconds ago', NetworkSettings: { Networks: {} } },
      { state: 'exited', exitCode: 1, health: 'none', networks: {} },
      'finish time unknown',
    ],
  ])('inspects on %s', (_what, entry, cache, reason) => {
    const verdict = compareListed(summary(entry), cached(cache), context);
    expect(verdict.kind).toBe('inspect');
    expect(verdict.kind === 'inspect' && verdict.reason.startsWith(reason)).toBe(true);
  });

  it('inspects when the daemon time is unknown', () => {
    expect(compareListed(summary(), cached(), { listedAfterMs: Number.NaN }).kind).toBe('inspect');
  });

  it('agrees with an exited container that exited when the cache says, with its code', () => {
    const c = cached({
      state: 'exited',
      exitCode: 137,
      health: 'none',
      networks: {},
      finishedAt: '2026-12-02T12:00:20.000Z',
    });
    const entry = summary({
      State: 'exited',
      Status: 'Exited (137) 10 seconds ago',
      NetworkSettings: { Networks: {} },
    });
    expect(compareListed(entry, c, context)).toEqual({ kind: 'agrees', container: c });
  });

  it('agrees with a created container', () => {
    const c = cached({
      state: 'created',
      health: 'none',
      startedAt: undefined,
      networks: { 'ds-T-0': { networkId: '', aliases: ['web'], ipAddress: '' } },
    });
    const entry = summary({
      State: 'created',
      Status: 'Created',
      NetworkSettings: { Networks: { 'ds-T-0': { NetworkID: '', IPAddress: '' } } },
    });
    expect(compareListed(entry, c, context)).toEqual({ kind: 'agrees', container: c });
  });

  describe('a start folded from Docker answer (no start time, no address)', () => {
    const folded = cached({
      startedAt: undefined,
      health: 'starting',
      networks: { 'ds-T-0': { networkId: NET, aliases: ['web'], ipAddress: '' } },
    });
    const entry = summary({ Status: 'Up 10 seconds (health: starting)' });

    it("agrees when up at least since the bound, and takes the list's address in a copy", () => {
      const verdict = compareListed(entry, folded, { listedAfterMs: NOW, runningByMs: NOW - 10_500 });
      expect(verdict).toEqual({
        kind: 'agrees',
        container: {
          ...folded,
          networks: { 'ds-T-0': { networkId: NET, aliases: ['web'], ipAddress: '10.231.3.2' } },
        },
      });
      expect(folded.networks['ds-T-0']!.ipAddress).toBe('');
    });

    it('inspects when up for less than the bound allows (a restart since)', () => {
      expect(compareListed(entry, folded, { listedAfterMs: NOW, runningByMs: NOW - 20_000 })).toEqual({
        kind: 'inspect',
        reason: 'restarted',
      });
    });
  });
});
