import { describe, expect, it } from '@jest/globals';
import { evaluateStartup, failureFromReconcileError } from '../../src/library/startup.js';
import { ReconcileError } from '../../src/reconciler/errors.js';
import { desired, node, observed, snap } from './support/graph.js';

const db = node('db', 'service', {
  healthCheck: { test: ['CMD', 'true'], intervalNs: 1, timeoutNs: 1, retries: 1, startPeriodNs: 0 },
});
const dbProxy = node('db', 'proxy');
const cache = node('cache', 'service');
const graph = desired([db, dbProxy, cache, node('cache', 'proxy')]);

describe('evaluateStartup', () => {
  it('is ready when every container runs and the health-checked ones are healthy', () => {
    const all = graph.containers.map((n) => observed(n, n === db ? { health: 'healthy' } : {}));
    expect(evaluateStartup(graph, snap(all))).toEqual({ ready: true, pending: [] });
  });

  it('lists what is not ready yet, with its phase', () => {
    const some = [
      observed(db, { health: 'starting' }),
      observed(dbProxy),
      observed(cache, { state: 'created' }),
    ];
    expect(evaluateStartup(graph, snap(some))).toEqual({
      ready: false,
      pending: [
        { service: 'cache', role: 'service', phase: 'created' },
        { service: 'cache', role: 'proxy', phase: 'pending' },
        { service: 'db', role: 'service', phase: 'running' },
      ],
    });
  });

  it('a health check asked for but not (yet) applied is not ready', () => {
    const status = evaluateStartup(desired([db]), snap([observed(db, { health: 'none' })]));
    expect(status.ready).toBe(false);
  });

  it('a container that had exited before this start is waited on (the loop restarts it); once the loop gives up, it is the cause', () => {
    const exitedEarlier = snap([
      observed(db, { state: 'exited', exitCode: 137, finishedAt: '2026-01-01T00:00:00Z' }),
      observed(dbProxy, { health: 'healthy' }),
    ]);
    const startedAt = '2026-01-01T00:05:00Z';
    expect(evaluateStartup(desired([db, dbProxy]), exitedEarlier, { settleMs: 0, startedAt })).toEqual({
      ready: false,
      pending: [{ service: 'db', role: 'service', phase: 'exited' }],
    });
    expect(
      evaluateStartup(desired([db, dbProxy]), exitedEarlier, { settleMs: 0, startedAt, priorExits: 'fail' })
        .failure,
    ).toMatchObject({
      service: 'db',
      phase: 'exited',
      reason: { kind: 'exited', exitCode: 137, beforeStart: true },
    });
    // One that exits after the start began is this start's failure, as before.
    expect(
      evaluateStartup(desired([db, dbProxy]), exitedEarlier, {
        settleMs: 0,
        startedAt: '2025-12-31T23:59:00Z',
      }).failure,
    ).toMatchObject({ service: 'db', reason: { kind: 'exited', exitCode: 137 } });
  });

  it('a container that ended before this start and is being replaced is waited on, not failed on its stale health', () => {
    // Docker marks a stopped container unhealthy; the plan removes it to make it again (its proxy
    // was replaced): seen `removing`, it is neither this start's failure nor ready.
    const replacing = snap([
      observed(db, {
        state: 'removing',
        health: 'unhealthy',
        lastHealthOutput: 'accepting connections',
        exitCode: 137,
        finishedAt: '2026-01-01T00:00:00Z',
      }),
      observed(dbProxy, { health: 'healthy' }),
    ]);
    const status = evaluateStartup(desired([db, dbProxy]), replacing, {
      settleMs: 0,
      startedAt: '2026-01-01T00:05:00Z',
    });
    expect(status.failure).toBeUndefined();
    expect(status).toMatchObject({ ready: false, pending: [{ service: 'db', role: 'service' }] });
  });

  it('waits on a container in a state it does not know, as pending: no failure, not ready', () => {
    const status = evaluateStartup(desired([db]), snap([observed(db, { state: 'unknown' })]));
    expect(status).toEqual({ ready: false, pending: [{ service: 'db', role: 'service', phase: 'pending' }] });
  });

  it('reports an exit with its code, an OOM kill with the limit, unhealthy with the probe output', () => {
    const exited = evaluateStartup(graph, snap([observed(cache, { state: 'exited', exitCode: 3 })]));
    expect(exited.failure).toEqual({
      service: 'cache',
      role: 'service',
      phase: 'exited',
      reason: { kind: 'exited', exitCode: 3 },
      containerId: 'id-ds-T1-0_cache',
    });
    const oom = evaluateStartup(
      graph,
      snap([observed(db, { state: 'exited', exitCode: 137, oomKilled: true })]),
    );
    expect(oom.failure?.reason).toEqual({ kind: 'oom-killed', exitCode: 137, memoryBytes: 64 * 1024 * 1024 });
    const sick = evaluateStartup(
      graph,
      snap([observed(db, { health: 'unhealthy', lastHealthOutput: 'nope' })]),
    );
    expect(sick.failure).toMatchObject({
      service: 'db',
      phase: 'unhealthy',
      reason: { kind: 'unhealthy', lastProbeOutput: 'nope' },
    });
  });

  it('names a foreign object holding a name the graph needs', () => {
    const status = evaluateStartup(
      graph,
      snap([], [{ type: 'container', id: 'x', name: 'ds-T1-0_db', reason: 'no owner label' }]),
    );
    expect(status.failure).toMatchObject({
      service: 'db',
      reason: { kind: 'name-conflict', name: 'ds-T1-0_db' },
    });
  });
});

describe('failureFromReconcileError', () => {
  const pending = [{ service: 'cache', role: 'service' as const, phase: 'pending' as const }];

  it('maps a missing image to the service that runs it', () => {
    const error = new ReconcileError('terminal', 'image pull cache:1: not found', {
      code: 'image-not-found',
      actionId: 'pull-image:cache:1',
      action: {
        id: 'pull-image:cache:1',
        kind: 'pull-image',
        cause: 'not present locally',
        target: { type: 'image', name: 'cache:1' },
      },
    });
    expect(failureFromReconcileError(graph, error, pending)).toMatchObject({
      service: 'cache',
      role: 'service',
      phase: 'pulling',
      reason: { kind: 'image-not-found', image: 'cache:1' },
    });
  });

  it('maps a blocked name conflict to its node', () => {
    const error = new ReconcileError('blocked', 'name held', {
      code: 'name-conflict',
      blocked: [
        { node: 'container/proxy/db', name: 'ds-T1-0_db_proxy', reason: 'not ours', code: 'name-conflict' },
      ],
    });
    expect(failureFromReconcileError(graph, error, pending)).toMatchObject({
      service: 'db',
      role: 'proxy',
      reason: { kind: 'name-conflict', name: 'ds-T1-0_db_proxy' },
    });
  });

  it('keeps anything else as a reconcile failure with its message', () => {
    expect(failureFromReconcileError(graph, new Error('daemon gone'), pending)).toMatchObject({
      service: 'cache',
      reason: { kind: 'reconcile-failed', message: 'daemon gone' },
    });
  });
});

describe('evaluateStartup: settle time for containers without a health check', () => {
  const plain = desired([cache]);
  const at = (time: string, startedAt: string) => ({
    ...snap([observed(cache, { startedAt })]),
    time,
  });

  it('is not ready before it ran settleMs, and says when to look again', () => {
    const status = evaluateStartup(plain, at('2026-01-01T00:00:00.400Z', '2026-01-01T00:00:00Z'), {
      settleMs: 1000,
    });
    expect(status).toEqual({
      ready: false,
      pending: [{ service: 'cache', role: 'service', phase: 'running' }],
      recheckInMs: 600,
    });
  });

  it('is ready once it ran settleMs', () => {
    const status = evaluateStartup(plain, at('2026-01-01T00:00:01.000Z', '2026-01-01T00:00:00Z'), {
      settleMs: 1000,
    });
    expect(status).toEqual({ ready: true, pending: [] });
  });

  it('does not delay a container with a health check', () => {
    const healthy = {
      ...snap([observed(db, { startedAt: '2026-01-01T00:00:00Z', health: 'healthy' })]),
      time: '2026-01-01T00:00:00.100Z',
    };
    expect(evaluateStartup(desired([db]), healthy, { settleMs: 1000 })).toEqual({ ready: true, pending: [] });
  });
});

describe('failureFromReconcileError: pulls', () => {
  it('a pull that kept failing is the image not being found, for the service that runs it', () => {
    const error = new ReconcileError(
      'retries-exhausted',
      'pull-image:cache:1 failed 8 times; last: no such host',
      {
        actionId: 'pull-image:cache:1',
        action: {
          id: 'pull-image:cache:1',
          kind: 'pull-image',
          cause: 'not present locally',
          target: { type: 'image', name: 'cache:1' },
        },
      },
    );
    expect(failureFromReconcileError(graph, error, [])).toMatchObject({
      service: 'cache',
      phase: 'pulling',
      reason: { kind: 'image-not-found', image: 'cache:1' },
    });
  });
});
