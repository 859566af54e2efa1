/** `up` shows each service's phase and its proxy's from the library's service events. */
import { describe, expect, it } from '@jest/globals';
import { progressFromEvents } from '../../src/cli/commands/up.js';
import { createProgress, type Progress } from '../../src/cli/progress.js';

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

describe('pull progress', () => {
  const time = '2026-01-01T00:00:00.000Z';
  const pulls = [
    { type: 'pulling', service: 'db', role: 'service', time, image: 'x:1' },
    {
      type: 'pulling',
      service: 'db',
      role: 'service',
      time,
      image: 'x:1',
      currentBytes: 1_000_000,
      totalBytes: 4_000_000,
    },
    {
      type: 'pulling',
      service: 'db',
      role: 'service',
      time,
      image: 'x:1',
      currentBytes: 4_000_000,
      totalBytes: 4_000_000,
    },
    { type: 'created', service: 'db', role: 'service', time },
  ] as const;

  it('a terminal redraws a byte meter on the service line', () => {
    let text = '';
    const show = progressFromEvents(
      createProgress({ write: (t: string) => (text += t), isTTY: true, columns: 80 }, ['db']),
    );
    for (const event of pulls) show(event);
    expect(text).toMatch(/db +pulling 1.0 MB of 4.0 MB/);
    expect(text).toMatch(/db +pulling 4.0 MB of 4.0 MB/);
    expect(text.trimEnd().split('\n').at(-1)).toMatch(/db +created/);
  });

  it('plain output has one line per phase, without the meter', () => {
    let text = '';
    const show = progressFromEvents(
      createProgress({ write: (t: string) => (text += t), isTTY: false }, ['db'], () => new Date(time)),
    );
    for (const event of pulls) show(event);
    expect(text).toBe('00:00:00 db: pulling\n00:00:00 db: created\n');
  });
});
