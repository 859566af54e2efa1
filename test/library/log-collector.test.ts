/**
 * The log collector against a Docker that serves logs from a table: what is kept per service and
 * per proxy, what survives a container's removal, and the tail a failed start reports.
 */
import { describe, expect, it } from '@jest/globals';
import type { DockerApi } from '../../src/docker/client.js';
import { LogCollector } from '../../src/library/log-collector.js';
import type { Snapshot } from '../../src/observed-state/types.js';
import { node, observed, owner, snap } from './support/graph.js';

const db = node('db', 'service');
const dbProxy = node('db', 'proxy');

function setup(latest: Snapshot | undefined) {
  const logs = new Map<string, string>();
  const reads: string[] = [];
  const docker = {
    containerLogs: async (id: string) => {
      reads.push(id);
      const text = logs.get(id);
      if (text === undefined) throw new Error(`no such container: ${id}`);
      return text;
    },
  } as unknown as DockerApi;
  const collector = new LogCollector({
    docker,
    owner,
    maxLogBytes: 1024,
    scrub: (text) => text.replaceAll('hunter2-secret', '[redacted]'),
    latest: () => latest,
  });
  return { collector, logs, reads };
}

describe('LogCollector', () => {
  it('keeps a proxy log apart from its service, and redacts on the way out', async () => {
    const { collector, logs } = setup(snap([observed(db), observed(dbProxy)]));
    logs.set(`id-${db.name}`, 'db up, password hunter2-secret\n');
    logs.set(`id-${dbProxy.name}`, 'proxy listening\n');
    await collector.readAll();
    expect(collector.texts(['db'])).toEqual({ db: 'db up, password [redacted]\n' });
    expect(collector.text('db/proxy')).toBe('proxy listening\n');
  });

  it("keeps a dead container's log read at its death once the container is gone", async () => {
    const { collector, logs } = setup(undefined);
    logs.set('first', 'first run\n');
    await collector.read('service', 'db', 'first');
    logs.delete('first');
    await collector.read('service', 'db', 'first');
    expect(collector.text('db')).toBe('first run\n');
  });

  it('reads the current container again on demand, and nothing once there is no snapshot', async () => {
    const { collector, logs, reads } = setup(snap([observed(db)]));
    logs.set(`id-${db.name}`, 'one\n');
    await collector.readCurrent('db');
    logs.set(`id-${db.name}`, 'one\ntwo\n');
    await collector.readCurrent('db');
    expect(collector.text('db')).toBe('one\ntwo\n');
    const none = setup(undefined);
    await none.collector.readCurrent('db');
    expect(none.reads).toEqual([]);
    expect(reads).toHaveLength(2);
  });

  it("a failed start's tail is the failed container's last lines, read by id when no longer listed", async () => {
    const { collector, logs } = setup(snap([]));
    logs.set('gone-from-list', `${Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n')}\n`);
    const tail = await collector.tailOf({
      service: 'db',
      role: 'service',
      phase: 'exited',
      reason: { kind: 'exited', exitCode: 1 },
      containerId: 'gone-from-list',
    });
    expect(tail.split('\n')).toHaveLength(40);
    expect(tail.endsWith('line 49')).toBe(true);
    expect(
      await collector.tailOf({
        service: undefined,
        role: 'service',
        phase: 'pending',
        reason: { kind: 'cancelled' },
      }),
    ).toBe('');
  });
});
