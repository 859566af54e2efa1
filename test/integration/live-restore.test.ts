/**
 * With dockerd's `"live-restore": true`, containers outlive a daemon that dies. On a dockerd of
 * the test's own (the shared one is never killed): the loop brings two services and their proxies
 * up and keeps watching; the daemon is killed with SIGKILL and started again; the services kept
 * running, and the loop re-adopts them as they are: once it has seen the daemon again it plans
 * nothing, creates nothing, restarts nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Subject, filter, firstValueFrom, share, timeout } from 'rxjs';
import { compile } from '../../src/desired-state/compile.js';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { reconcile, type LoopEvent } from '../../src/loop/reconcile.js';
import { observe } from '../../src/observed-state/observe.js';
import { scopeOf } from '../../src/observed-state/scope.js';
import type { RefreshRequest } from '../../src/observed-state/requests.js';
import { loadImage, startPrivateDockerd, type PrivateDockerd } from '../observed-state/private-dockerd.js';
import { IMAGES, testOwnerId } from '../support/docker.js';

const PROXY_IMAGE = IMAGES.proxy;
let daemon: PrivateDockerd | undefined;

beforeAll(async () => {
  daemon = await startPrivateDockerd({ liveRestore: true });
  await loadImage(daemon, IMAGES.busybox);
  await loadImage(daemon, PROXY_IMAGE);
}, 240_000);

afterAll(async () => {
  await daemon?.destroy();
}, 60_000);

describe('live-restore', () => {
  it('services keep running across a dockerd crash and are re-adopted: no create, no restart', async () => {
    const d = daemon!;
    const config = defaultWorkerConfig({
      ownerId: testOwnerId('live-restore'),
      // Fixture images are built here, never in a registry: nothing to pull.
      images: { pullPolicy: 'if-not-present' },
      provisionerId: 'prov',
      workerType: 'wt',
      rootUrl: 'https://tc.example.com',
      proxy: { image: PROXY_IMAGE },
    });
    const sleeper = (name: string) => ({
      name,
      image: IMAGES.busybox,
      command: ['sh', '-c', 'exec sleep 600'],
    });
    const desired = compile(
      { services: [sleeper('db'), sleeper('web')] },
      { config, taskId: randomBytes(16).toString('base64url'), runId: 0, scopes: [] },
    );
    const refresh$ = new Subject<RefreshRequest | void>();
    const events = reconcile({
      docker: d.api,
      desired,
      snapshots: observe(d.api, scopeOf(desired), {
        refresh$,
        backoff: { initialMs: 100, maxMs: 1_000 },
      }),
      refresh: (request) => refresh$.next(request),
      execute: { credentials: async () => ({ TASKCLUSTER_CLIENT_ID: 'x', TASKCLUSTER_ACCESS_TOKEN: 'y' }) },
      until: 'forever',
      pollIntervalMs: 250,
    }).pipe(share());
    const seen: LoopEvent[] = [];
    const subscription = events.subscribe({ next: (e) => seen.push(e), error: () => {} });
    try {
      await firstValueFrom(
        events.pipe(
          filter((e) => e.type === 'ready'),
          timeout(120_000),
        ),
      );
      const before = await d.cli('ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}} {{.State}}');
      const started = await d.cli('inspect', '--format', '{{.Id}} {{.State.StartedAt}}', ...ids(before));
      expect(before.split('\n')).toHaveLength(4);

      await d.kill9();
      await d.start();
      const restarted = seen.length;
      // Snapshots are held back from the loss of the event stream until a relist that began after
      // it succeeds: a plan made after the restart is made from the daemon that came back.
      await firstValueFrom(
        events.pipe(
          filter((e) => seen.indexOf(e) >= restarted),
          filter((e) => e.type === 'planned' && e.plan.ready && e.plan.actions.length === 0),
          timeout(120_000),
        ),
      );
      const after = await d.cli('ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}} {{.State}}');
      expect(after.split('\n').sort()).toEqual(before.split('\n').sort());
      expect(after).not.toMatch(/exited|created/);
      expect(await d.cli('inspect', '--format', '{{.Id}} {{.State.StartedAt}}', ...ids(after))).toBe(started);
      const acted = seen
        .slice(restarted)
        .filter((e) => e.type === 'action-started' || e.type === 'restart-recorded');
      expect(acted).toEqual([]);
    } finally {
      subscription.unsubscribe();
      refresh$.complete();
    }
  }, 300_000);
});

function ids(ps: string): string[] {
  return ps
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[0]!);
}
