/**
 * The observer across a daemon crash. A private dockerd (never the shared one) is killed with
 * SIGKILL and started again on the same dirs: the observer must notice the stream is gone,
 * reconnect, relist, and end up agreeing with `docker ps -a`: a container the restart stopped is
 * exited, and a container created right after the daemon came back is there.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Label } from '../../src/desired-state/labels.js';
import { observe } from '../../src/observed-state/observe.js';
import type { ObserveScope } from '../../src/observed-state/scope.js';
import type { Snapshot } from '../../src/observed-state/types.js';
import { IMAGES, eventually, testOwnerId } from '../support/docker.js';
import { loadImage, startPrivateDockerd, type PrivateDockerd } from './private-dockerd.js';
import { container, fakeTaskId, productLabels, record } from './support.js';

const owner = 'observe-restart';
const taskId = fakeTaskId('rst');
const stem = `ds-${taskId}-0`;
const scope: ObserveScope = { ownerId: testOwnerId(owner), taskId, runId: 0, images: [IMAGES.busybox] };
const labels = () => productLabels(owner, taskId, 0);
let daemon: PrivateDockerd | undefined;

beforeAll(async () => {
  daemon = await startPrivateDockerd();
  await loadImage(daemon, IMAGES.busybox);
}, 120_000);

afterAll(async () => {
  await daemon?.destroy();
}, 60_000);

/** What `docker ps -a` says of our objects: name → state. */
async function ps(d: PrivateDockerd): Promise<Record<string, string>> {
  const out = await d.cli(
    'ps',
    '-a',
    '--filter',
    `label=${Label.owner}=${scope.ownerId}`,
    '--format',
    '{{.Names}}\t{{.State}}',
  );
  return Object.fromEntries(
    out
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t') as [string, string]),
  );
}

const canonical = (r: Record<string, string>) => JSON.stringify(Object.entries(r).sort());
const states = (s: Snapshot) => Object.fromEntries(s.containers.map((c) => [c.name, c.state]));

describe('observe across a daemon restart (private dockerd)', () => {
  it('reconnects, relists, and agrees with docker ps -a', async () => {
    const d = daemon!;
    const running = `${stem}_running`;
    const created = `${stem}_created`;
    const done = `${stem}_done`;
    const after = `${stem}_after`;
    await d.cli(
      'run',
      '-d',
      '--name',
      running,
      ...labels(),
      '--network',
      'none',
      IMAGES.busybox,
      'sleep',
      '3600',
    );
    await d.cli('create', '--name', created, ...labels(), '--network', 'none', IMAGES.busybox, 'true');
    await d.cli('run', '--name', done, ...labels(), '--network', 'none', IMAGES.busybox, 'true');

    const rec = record((onError) =>
      observe(d.api, scope, {
        // No periodic or stall relist: only the reconnect can bring the snapshot back in line.
        relistIntervalMs: 3_600_000,
        stallRelistMs: 3_600_000,
        backoff: { initialMs: 100, maxMs: 1_000 },
        onError,
      }),
    );
    try {
      const before = await rec.waitFor(
        (s) => s.containers.length === 3 && container(s, running)?.state === 'running',
        'the three containers, one running',
      );
      expect(states(before)).toEqual(await ps(d));

      const errorsBefore = rec.errors.length;
      await d.kill9();
      await eventually(
        async () => rec.errors.length > errorsBefore,
        'the observer to notice the stream is gone',
      );
      await d.start();
      await d.cli('create', '--name', after, ...labels(), '--network', 'none', IMAGES.busybox, 'true');

      const truth = await ps(d);
      expect(truth).toEqual({
        [running]: 'exited',
        [created]: 'created',
        [done]: 'exited',
        [after]: 'created',
      });
      const seen = await rec.waitFor(
        (s) => canonical(states(s)) === canonical(truth),
        `the snapshot matches docker ps -a: ${JSON.stringify(truth)}`,
        { timeoutMs: 60_000 },
      );
      expect(states(seen)).toEqual(truth);
      expect(container(seen, running)?.exitCode).not.toBe(0);
      expect(seen.images.map((i) => i.ref)).toEqual([IMAGES.busybox]);
      console.log(
        `daemon restart: ${rec.snapshots.length} snapshots, ${rec.errors.length} errors reported while the daemon was away`,
      );
    } finally {
      rec.stop();
    }
  }, 120_000);
});
