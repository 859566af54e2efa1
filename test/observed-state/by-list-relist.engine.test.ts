/**
 * The live cache's safety-net relist against the real engine. The cache is told what an up did as
 * the executor tells it (known effects: no inspect), reads no event stream (every event is lost),
 * and relists by list: dockerd 20.10's list entries must agree with the folded containers (no
 * inspect), and a `docker kill` or `docker restart` behind its back must show in the entry of
 * that container alone, which is then inspected.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { Label } from '../../src/desired-state/labels.js';
import type { DockerApi } from '../../src/docker/client.js';
import { collectSnapshot } from '../../src/observed-state/collect.js';
import type { ObserveScope } from '../../src/observed-state/scope.js';
import { SnapshotCache } from '../../src/observed-state/snapshot-cache.js';
import type { Snapshot } from '../../src/observed-state/types.js';
import { IMAGES, dockerCli, removeMadeByThisRun, testDocker, testOwnerId } from '../support/docker.js';
import { fakeTaskId } from './support.js';

const plain = testDocker();
const inspected: string[] = [];
/** The engine, with every container inspect recorded. */
const docker: DockerApi = {
  ...plain,
  inspectContainer: (id) => (inspected.push(id), plain.inspectContainer(id)),
};
const ownerId = testOwnerId('by-list');
const taskId = fakeTaskId('bylist');
const stem = `ds-${taskId}-0`;
const scope: ObserveScope = { ownerId, taskId, runId: 0, images: [IMAGES.busybox] };
const labels = { [Label.owner]: ownerId, [Label.taskId]: taskId, [Label.runId]: '0' };

afterAll(async () => {
  await removeMadeByThisRun(plain, (l) => l[Label.owner] === ownerId);
});

/** What neither a fold nor a list entry carries: Docker's timestamps and the probe's output. */
function comparable(snapshot: Snapshot): unknown {
  return snapshot.containers.map(
    ({ createdAt: _c, startedAt: _s, finishedAt: _f, lastHealthOutput: _l, ...rest }) => rest,
  );
}

describe('a safety-net relist by list (real engine)', () => {
  it('inspects no folded container of an up, and only the one killed or restarted behind its back', async () => {
    const snapshots: Snapshot[] = [];
    const errors: unknown[] = [];
    const cache = new SnapshotCache(docker, scope, {
      relistIntervalMs: 3_600_000,
      maxByListRelists: 1_000,
      backoff: { initialMs: 100, maxMs: 1_000 },
      random: () => 0.5,
      echoTokens: true,
      reportError: (error) => errors.push(error),
      emit: (snapshot) => snapshots.push(snapshot),
    });
    /** The first snapshot that reflects `token`, or the next one emitted. */
    const next = async (token?: number) => {
      const count = snapshots.length;
      const deadline = Date.now() + 20_000;
      const done = () =>
        token === undefined ? snapshots.length > count : snapshots.some((s) => (s.refreshed ?? 0) >= token);
      while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect({ done: done(), errors }).toEqual({ done: true, errors: [] });
      return token === undefined ? snapshots.at(-1)! : snapshots.find((s) => (s.refreshed ?? 0) >= token)!;
    };
    const relistByList = async () => {
      inspected.length = 0;
      const snapshot = next();
      cache.safetyNetRelistSoon();
      return snapshot;
    };
    try {
      cache.streamOpened();
      await next();

      // An up as the executor does it: each call's answer folded into the cache.
      const networkOptions = { Name: stem, Labels: labels, CheckDuplicate: true };
      const networkId = await plain.createNetwork(networkOptions);
      cache.request({ effects: [{ kind: 'network-created', networkId, options: networkOptions }] });
      const ids: Record<string, string> = {};
      for (const node of ['web', 'db'] as const) {
        const options = {
          name: `${stem}_${node}`,
          Image: IMAGES.busybox,
          Cmd: ['sleep', '300'],
          Labels: labels,
          HostConfig: { NetworkMode: stem },
          NetworkingConfig: { EndpointsConfig: { [stem]: { Aliases: [node] } } },
          // `db`'s probe passes at once; its health turns `healthy` with no event the cache sees.
          ...(node === 'db'
            ? { Healthcheck: { Test: ['CMD', 'true'], Interval: 500e6, Timeout: 1e9, Retries: 3 } }
            : {}),
        };
        ids[node] = await plain.createContainer(options);
        cache.request({ effects: [{ kind: 'container-created', containerId: ids[node]!, options }] });
        await plain.startContainer(ids[node]!);
        cache.request({
          effects: [{ kind: 'container-started', containerId: ids[node]! }],
          token: node === 'web' ? 1 : 2,
        });
      }
      const folded = await next(2);
      expect(folded.containers.map((c) => `${c.name} ${c.state}`).sort()).toEqual([
        `${stem}_db running`,
        `${stem}_web running`,
      ]);

      // `db` turned healthy (its list entry says so): that alone is inspected. `web` agrees.
      await waitFor(async () =>
        /\(healthy\)/.test(await dockerCli('ps', '--filter', `id=${ids.db}`, '--format', '{{.Status}}')),
      );
      let snapshot = await relistByList();
      expect(inspected).toEqual([ids.db]);
      expect(comparable(snapshot)).toEqual(comparable(await collectSnapshot(plain, scope)));
      snapshot = await relistByList();
      expect(inspected).toEqual([]);

      await dockerCli('kill', ids.web!);
      snapshot = await relistByList();
      expect(inspected).toEqual([ids.web]);
      expect(snapshot.containers.find((c) => c.id === ids.web)).toMatchObject({
        state: 'exited',
        exitCode: 137,
      });
      expect(snapshot.containers).toEqual((await collectSnapshot(plain, scope)).containers);

      // A restart seconds after the start the cache knows: `Up N seconds` is shorter than that
      // start implies, though the state and, once its probe passes, the health agree. (The list's
      // one-second steps and a slow list call under load eat into the margin: 4 s leaves ~3 s.)
      await new Promise((r) => setTimeout(r, 4_000));
      await dockerCli('restart', '-t', '0', ids.db!);
      await waitFor(async () =>
        /\(healthy\)/.test(await dockerCli('ps', '--filter', `id=${ids.db}`, '--format', '{{.Status}}')),
      );
      const before = snapshot.containers.find((c) => c.id === ids.db)!;
      snapshot = await relistByList();
      expect(inspected).toEqual([ids.db]);
      expect(snapshot.containers.find((c) => c.id === ids.db)!.startedAt).not.toEqual(before.startedAt);
      expect(snapshot.containers).toEqual((await collectSnapshot(plain, scope)).containers);
    } finally {
      cache.close();
    }
  }, 90_000);
});

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
