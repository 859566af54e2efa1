import { describe, expect, it } from '@jest/globals';
import { runsHealthy } from '../../src/reconciler/readiness.js';
import { Label } from '../../src/desired-state/labels.js';
import type { OwnerRef } from '../../src/desired-state/types.js';
import {
  derivePhaseEvents,
  initialPhaseState,
  trackerKey,
  type PhaseScope,
  type PhaseState,
  type ServiceEvent,
} from '../../src/library/phases.js';
import type { ObservedContainer, Snapshot } from '../../src/observed-state/types.js';

const owner: OwnerRef = { ownerId: 'w1', taskId: 'T1', runId: 0 };
const scope: PhaseScope = {
  owner,
  images: { [trackerKey('service', 'db')]: 'postgres:15', [trackerKey('proxy', 'db')]: 'proxy:1' },
};

function container(over: Partial<ObservedContainer> & { id: string }, role = 'service'): ObservedContainer {
  return {
    name: role === 'proxy' ? 'ds-T1-0_db_proxy' : 'ds-T1-0_db',
    labels: {
      [Label.owner]: 'w1',
      [Label.taskId]: 'T1',
      [Label.runId]: '0',
      [Label.role]: role,
      [Label.service]: 'db',
    },
    image: 'postgres:15',
    imageId: 'sha256:1',
    state: 'running',
    exitCode: 0,
    oomKilled: false,
    health: 'none',
    networks: {},
    ...over,
  };
}

function snapshot(containers: ObservedContainer[], missingImages: string[] = []): Snapshot {
  return { time: 't', containers, networks: [], images: [], missingImages, foreign: [] };
}

/** Feeds snapshots in order and returns `type` (and details) of every event, one string each. */
function run(snapshots: Snapshot[], s: PhaseScope = scope): string[] {
  let state: PhaseState = initialPhaseState();
  const out: string[] = [];
  snapshots.forEach((snap, i) => {
    const result = derivePhaseEvents(state, snap, s, `time-${i}`);
    state = result.state;
    out.push(...result.events.map(render));
  });
  return out;
}

function render(e: ServiceEvent): string {
  const extra =
    e.type === 'died'
      ? ` exit=${e.exitCode ?? '?'} oom=${e.oomKilled}`
      : e.type === 'restarted'
        ? ` #${e.restarts}`
        : e.type === 'unhealthy'
          ? ` ${e.lastProbeOutput ?? ''}`
          : e.type === 'pulling'
            ? ` ${e.image}`
            : '';
  return `${e.role}/${e.service} ${e.type}${extra} ${e.containerId ?? '-'}`;
}

const S1 = '2026-01-01T00:00:01Z';
const S2 = '2026-01-01T00:00:02Z';

describe('derivePhaseEvents', () => {
  it('reports pulling once while the image is missing and nothing exists', () => {
    expect(run([snapshot([], ['postgres:15']), snapshot([], ['postgres:15']), snapshot([])])).toEqual([
      'service/db pulling postgres:15 -',
    ]);
  });

  it('walks created → started → healthy, one event per change', () => {
    expect(
      run([
        snapshot([container({ id: 'a', state: 'created' })]),
        snapshot([container({ id: 'a', startedAt: S1, health: 'starting' })]),
        snapshot([container({ id: 'a', startedAt: S1, health: 'starting' })]),
        snapshot([container({ id: 'a', startedAt: S1, health: 'healthy' })]),
        snapshot([container({ id: 'a', startedAt: S1, health: 'healthy' })]),
      ]),
    ).toEqual(['service/db created a', 'service/db started a', 'service/db healthy a']);
  });

  it("takes a start folded from Docker's answer (no start time yet) as started, and the time its next inspect brings as no restart", () => {
    expect(
      run([
        snapshot([container({ id: 'a', state: 'created' })]),
        snapshot([container({ id: 'a', health: 'starting' })]),
        snapshot([container({ id: 'a', health: 'starting', startedAt: S1 })]),
        snapshot([container({ id: 'a', health: 'healthy', startedAt: S1 })]),
        snapshot([container({ id: 'a', state: 'exited', startedAt: S1, exitCode: 1 })]),
        snapshot([container({ id: 'a', startedAt: S2 })]),
      ]),
    ).toEqual([
      'service/db created a',
      'service/db started a',
      'service/db healthy a',
      'service/db died exit=1 oom=false a',
      'service/db restarted #1 a',
    ]);
  });

  it('reconstructs created and started when the first sight is already running', () => {
    expect(run([snapshot([container({ id: 'a', startedAt: S1 })])])).toEqual([
      'service/db created a',
      'service/db started a',
    ]);
  });

  it('reports unhealthy with the last probe output', () => {
    expect(
      run([
        snapshot([container({ id: 'a', startedAt: S1, health: 'starting' })]),
        snapshot([container({ id: 'a', startedAt: S1, health: 'unhealthy', lastHealthOutput: 'no pid' })]),
      ]),
    ).toEqual(['service/db created a', 'service/db started a', 'service/db unhealthy no pid a']);
  });

  it('reports a death with exit code and OOM flag once', () => {
    const dead = container({ id: 'a', startedAt: S1, state: 'exited', exitCode: 137, oomKilled: true });
    expect(
      run([snapshot([container({ id: 'a', startedAt: S1 })]), snapshot([dead]), snapshot([dead])]),
    ).toEqual(['service/db created a', 'service/db started a', 'service/db died exit=137 oom=true a']);
  });

  it('a container that exited before it was ever seen running is started, then died', () => {
    expect(run([snapshot([container({ id: 'a', startedAt: S1, state: 'exited', exitCode: 3 })])])).toEqual([
      'service/db created a',
      'service/db started a',
      'service/db died exit=3 oom=false a',
    ]);
  });

  it('a restart of the same container is restarted, after died', () => {
    expect(
      run([
        snapshot([container({ id: 'a', startedAt: S1 })]),
        snapshot([container({ id: 'a', startedAt: S1, state: 'exited', exitCode: 137 })]),
        snapshot([container({ id: 'a', startedAt: S2 })]),
      ]),
    ).toEqual([
      'service/db created a',
      'service/db started a',
      'service/db died exit=137 oom=false a',
      'service/db restarted #1 a',
    ]);
  });

  it('a restart whose exit was never observed still reports died (exit unknown), then restarted', () => {
    expect(
      run([
        snapshot([container({ id: 'a', startedAt: S1 })]),
        snapshot([container({ id: 'a', startedAt: S2 })]),
      ]),
    ).toEqual([
      'service/db created a',
      'service/db started a',
      'service/db died exit=? oom=false a',
      'service/db restarted #1 a',
    ]);
  });

  it('a replacement container is removed (old), created, restarted (new)', () => {
    expect(
      run([
        snapshot([container({ id: 'a', startedAt: S1 })]),
        snapshot([container({ id: 'a', startedAt: S1, state: 'exited', exitCode: 1 })]),
        snapshot([]),
        snapshot([container({ id: 'b', startedAt: S2 })]),
      ]),
    ).toEqual([
      'service/db created a',
      'service/db started a',
      'service/db died exit=1 oom=false a',
      'service/db removed a',
      'service/db created b',
      'service/db restarted #1 b',
    ]);
  });

  it('health is reported again after a restart', () => {
    expect(
      run([
        snapshot([container({ id: 'a', startedAt: S1, health: 'healthy' })]),
        snapshot([container({ id: 'a', startedAt: S2, health: 'starting' })]),
        snapshot([container({ id: 'a', startedAt: S2, health: 'healthy' })]),
      ]),
    ).toEqual([
      'service/db created a',
      'service/db started a',
      'service/db healthy a',
      'service/db died exit=? oom=false a',
      'service/db restarted #1 a',
      'service/db healthy a',
    ]);
  });

  it('tracks service and proxy apart and ignores other tasks and owners', () => {
    const other = container({ id: 'x', startedAt: S1 });
    other.labels = { ...other.labels, [Label.taskId]: 'T2' };
    const stranger = container({ id: 'y', startedAt: S1 });
    stranger.labels = { ...stranger.labels, [Label.owner]: 'w2' };
    expect(
      run([
        snapshot([
          other,
          stranger,
          container({ id: 'p', startedAt: S1 }, 'proxy'),
          container({ id: 'a', state: 'created' }),
        ]),
      ]),
    ).toEqual(['proxy/db created p', 'proxy/db started p', 'service/db created a']);
  });

  it('removal at teardown reports removed once per container', () => {
    expect(run([snapshot([container({ id: 'a', startedAt: S1 })]), snapshot([]), snapshot([])])).toEqual([
      'service/db created a',
      'service/db started a',
      'service/db removed a',
    ]);
  });

  it('is deterministic and stamps the given time', () => {
    const snap = snapshot([
      container({ id: 'a', startedAt: S1 }),
      container({ id: 'p', startedAt: S1 }, 'proxy'),
    ]);
    const one = derivePhaseEvents(initialPhaseState(), snap, scope, 'NOW');
    const two = derivePhaseEvents(
      initialPhaseState(),
      { ...snap, containers: [...snap.containers].reverse() },
      scope,
      'NOW',
    );
    expect(two).toEqual(one);
    expect(one.events.every((e) => e.time === 'NOW')).toBe(true);
  });
});

describe('runsHealthy', () => {
  it('is running with no health check, or healthy', () => {
    expect(runsHealthy(container({ id: 'a' }))).toBe(true);
    expect(runsHealthy(container({ id: 'a', health: 'healthy' }))).toBe(true);
    expect(runsHealthy(container({ id: 'a', health: 'starting' }))).toBe(false);
    expect(runsHealthy(container({ id: 'a', health: 'unhealthy' }))).toBe(false);
    expect(runsHealthy(container({ id: 'a', state: 'created' }))).toBe(false);
    expect(runsHealthy(container({ id: 'a', state: 'exited' }))).toBe(false);
  });
});

describe('derivePhaseEvents: removal in progress', () => {
  it('a container seen in state removing is removed once, not again when gone', () => {
    expect(
      run([
        snapshot([container({ id: 'a', startedAt: S1 })]),
        snapshot([container({ id: 'a', startedAt: S1, state: 'removing' })]),
        snapshot([]),
      ]),
    ).toEqual(['service/db created a', 'service/db started a', 'service/db removed a']);
  });
});
