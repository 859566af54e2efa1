/**
 * The startup gate alone, with a host that records what it is asked: when it settles, on what,
 * and that a failure is reported only after the loop stopped, the log was read and the task was
 * torn down.
 */
import { describe, expect, it } from '@jest/globals';
import { ServiceStartError } from '../../src/library/errors.js';
import { StartupGate, type GateHost } from '../../src/library/startup-gate.js';
import type { StartFailure } from '../../src/library/startup.js';
import type { Snapshot } from '../../src/observed-state/types.js';
import { ReconcileError } from '../../src/reconciler/errors.js';
import { desired, node, observed, snap } from './support/graph.js';

const db = node('db', 'service');
const graph = desired([db]);
const HOUR_LATER = () => new Date(Date.now() + 3_600_000);

function setup(look: () => Promise<Snapshot> = async () => snap([])) {
  const calls: string[] = [];
  let starting = true;
  const tails: StartFailure[] = [];
  const host: GateHost = {
    isStarting: () => starting,
    refresh: () => calls.push('refresh'),
    look,
    ready: () => {
      calls.push('ready');
      starting = false;
    },
    stopLoop: async () => void calls.push('stopLoop'),
    logTail: async (failure) => {
      calls.push('logTail');
      tails.push(failure);
      return 'last words';
    },
    teardown: async () => void calls.push('teardown'),
  };
  const gate = new StartupGate(
    {
      desired: graph,
      services: ['db'],
      settleMs: 0,
      timeoutMs: 60_000,
      logger: undefined,
      scrub: (text) => text.replaceAll('hunter2-secret', '[redacted]'),
      now: Date.now,
    },
    host,
  );
  return { gate, calls, tails };
}

async function rejection(promise: Promise<void>): Promise<ServiceStartError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ServiceStartError);
  return error as ServiceStartError;
}

describe('StartupGate', () => {
  it('resolves on the first snapshot where every service is ready, and tells the host at once', async () => {
    const { gate, calls } = setup();
    const waiting = gate.wait({ deadline: HOUR_LATER() });
    gate.snapshot(snap([observed(db, { state: 'created' })]));
    expect(calls).toEqual([]);
    gate.snapshot(snap([observed(db)]));
    expect(calls).toEqual(['ready']);
    gate.snapshot(snap([observed(db, { state: 'exited', exitCode: 1 })]));
    await waiting;
    expect(calls).toEqual(['ready']);
  });

  it('reports a failure after stopping the loop, reading the log and tearing down, probe output redacted', async () => {
    const { gate, calls, tails } = setup();
    const waiting = gate.wait({ deadline: HOUR_LATER() });
    gate.snapshot(
      snap([observed(db, { health: 'unhealthy', lastHealthOutput: 'password hunter2-secret refused' })]),
    );
    const error = await rejection(waiting);
    expect(calls).toEqual(['stopLoop', 'logTail', 'teardown']);
    expect(tails).toMatchObject([{ service: 'db', role: 'service', containerId: `id-${db.name}` }]);
    expect(error).toMatchObject({
      service: 'db',
      phase: 'unhealthy',
      reason: { kind: 'unhealthy', lastProbeOutput: 'password [redacted] refused' },
      logTail: 'last words',
      taskId: 'T1',
      runId: 0,
    });
  });

  it('gives up at the task deadline, naming the service still pending and its phase', async () => {
    const { gate } = setup();
    const deadline = new Date(Date.now() - 1);
    const waiting = gate.wait({ deadline });
    gate.snapshot(snap([observed(db, { state: 'created' })]));
    const error = await rejection(waiting);
    expect(error).toMatchObject({
      service: 'db',
      phase: 'created',
      reason: { kind: 'deadline', deadline: deadline.toISOString() },
    });
  });

  it('a cancel before anything was seen is the task’s, blaming no service', async () => {
    const { gate, calls } = setup();
    const error = await rejection(gate.wait({ deadline: HOUR_LATER(), signal: AbortSignal.abort() }));
    expect(error).toMatchObject({ service: undefined, phase: 'pending', reason: { kind: 'cancelled' } });
    expect(calls).toEqual(['stopLoop', 'logTail', 'teardown']);
  });

  it('stopped while waiting: rejects as cancelled, leaving the teardown to the stop', async () => {
    const { gate, calls } = setup();
    const waiting = gate.wait({ deadline: HOUR_LATER() });
    gate.stopped();
    const error = await rejection(waiting);
    expect(error).toMatchObject({ service: undefined, reason: { kind: 'cancelled' } });
    expect(calls).toEqual([]);
  });

  it('a loop failure is read against a fresh look: the exit code it shows beats the loop message', async () => {
    const { gate } = setup(async () => snap([observed(db, { state: 'exited', exitCode: 3 })]));
    const waiting = gate.wait({ deadline: HOUR_LATER() });
    gate.loopFailed(new ReconcileError('blocked', 'crash loop'));
    const error = await rejection(waiting);
    expect(error.reason).toEqual({ kind: 'exited', exitCode: 3 });
  });

  it('without a fresh look, the loop failure itself is the reason, its message redacted', async () => {
    const { gate } = setup(() => Promise.reject(new Error('engine gone')));
    const waiting = gate.wait({ deadline: HOUR_LATER() });
    gate.loopFailed(new Error('create failed: hunter2-secret'));
    const error = await rejection(waiting);
    expect(error.reason).toEqual({ kind: 'reconcile-failed', message: 'create failed: [redacted]' });
    expect((error.cause as Error).message).toBe('create failed: [redacted]');
  });
});
