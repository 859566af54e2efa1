import { describe, expect, it } from '@jest/globals';
import { ServiceStartError, describeReason, type StartFailureReason } from '../../src/library/errors.js';

describe('ServiceStartError', () => {
  it('names the service, the phase, the reason and shows the log tail', () => {
    const error = new ServiceStartError({
      service: 'db',
      role: 'service',
      phase: 'exited',
      reason: { kind: 'exited', exitCode: 3 },
      logTail: 'boom\n',
      taskId: 'T',
      runId: 0,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ServiceStartError');
    expect(error.message).toBe(
      'service db failed to start (phase: exited): exited with code 3\n--- last lines of its log ---\nboom\n',
    );
    expect(error.reason).toEqual({ kind: 'exited', exitCode: 3 });
  });

  it('says when the proxy failed and omits an empty log', () => {
    const error = new ServiceStartError({
      service: 'db',
      role: 'proxy',
      phase: 'running',
      reason: { kind: 'timeout', timeoutMs: 500 },
      logTail: '',
      taskId: 'T',
      runId: 1,
    });
    expect(error.message).toBe(
      'the auth proxy of service db failed to start (phase: running): was not ready within its startup timeout of 500 ms',
    );
  });

  it.each<[StartFailureReason, string]>([
    [
      { kind: 'oom-killed', exitCode: 137, memoryBytes: 8388608 },
      'OOM, exit code 137, memory limit 8388608 bytes',
    ],
    [{ kind: 'unhealthy', lastProbeOutput: 'no\nanswer' }, 'last health probe output: no | answer'],
    [{ kind: 'image-not-found', image: 'nope:1' }, 'image nope:1 was not found'],
    [{ kind: 'name-conflict', name: 'ds-T-0_db' }, 'name ds-T-0_db is held by an object'],
    [{ kind: 'cancelled' }, 'cancelled'],
    [{ kind: 'deadline', deadline: '2026-01-01T00:00:00Z' }, 'deadline 2026-01-01T00:00:00Z passed'],
    [{ kind: 'reconcile-failed', message: 'x' }, 'could not be brought up: x'],
  ])('describes %j', (reason, text) => {
    expect(describeReason(reason)).toContain(text);
  });
});
