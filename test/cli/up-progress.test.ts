/** `up` shows each service's phase and its proxy's from the library's service events. */
import { describe, expect, it } from '@jest/globals';
import { progressFromEvents } from '../../src/cli/commands/up.js';
import type { Progress } from '../../src/cli/progress.js';

function recorder(): { progress: Progress; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    progress: {
      update: (service, phase, detail) => lines.push(`${service}: ${phase}${detail ? ` (${detail})` : ''}`),
      done: () => {},
    },
  };
}

describe('up progress', () => {
  it('tracks the service and its proxy separately, deaths with code and OOM', () => {
    const { progress, lines } = recorder();
    const show = progressFromEvents(progress);
    const time = '2026-01-01T00:00:00.000Z';
    show({ type: 'created', service: 'db', role: 'proxy', time });
    show({ type: 'started', service: 'db', role: 'proxy', time });
    show({ type: 'healthy', service: 'db', role: 'proxy', time });
    show({ type: 'created', service: 'db', role: 'service', time });
    show({ type: 'started', service: 'db', role: 'service', time });
    show({ type: 'died', service: 'db', role: 'service', time, exitCode: 137, oomKilled: true });
    show({ type: 'restarted', service: 'db', role: 'service', time, restarts: 1 });
    expect(lines).toEqual([
      'db: pending (proxy created)',
      'db: pending (proxy running)',
      'db: pending (proxy healthy)',
      'db: created (proxy healthy)',
      'db: running (proxy healthy)',
      'db: exited (code 137, OOM) (proxy healthy)',
      'db: running (proxy healthy)',
    ]);
  });
});
