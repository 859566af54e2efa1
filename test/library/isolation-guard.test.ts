/**
 * The isolation guard with a real session on the real engine: every network of the task is in the
 * guard while the task runs (named as dockerd names its bridge: the interface must exist), and
 * none is once the session stopped. What the guard's rules do to traffic is shown on real
 * forwarding in test/host/isolation-guard.test.ts and, against dockerd's own gap, by
 * bench/isolation.sh --guard.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { Label } from '../../src/desired-state/labels.js';
import { GUARD_TABLE, NftablesGuard, bridgeOf } from '../../src/host/isolation-guard.js';
import type { ServiceSession } from '../../src/library/session.js';
import { IMAGES, removeMadeByThisRun, testOwnerId } from '../support/docker.js';
import { NOTHING, docker, manager, objectsOf, task } from './support/library.js';

const exec = promisify(execFile);
const OWNER = 'lib-guard';
const sessions: ServiceSession[] = [];
let tableWasThere = false;

beforeAll(async () => {
  tableWasThere = await exec('nft', ['list', 'table', 'inet', GUARD_TABLE]).then(
    () => true,
    () => false,
  );
});

afterAll(async () => {
  await Promise.allSettled(sessions.map((s) => s.stop()));
  await removeMadeByThisRun(docker, (labels) => (labels[Label.owner] ?? '').includes(`-${OWNER}`));
  // The host's packet filter is left as it was found.
  if (!tableWasThere) await exec('nft', ['delete', 'table', 'inet', GUARD_TABLE]).catch(() => {});
}, 120_000);

const sleeper = (name: string) => ({
  name,
  image: IMAGES.busybox,
  command: ['sh', '-c', 'exec sleep 600'],
});

describe('the isolation guard with a session', () => {
  it('holds the bridge of every network of the task while it runs, and none after stop()', async () => {
    const session = await manager(OWNER, { isolationGuard: 'nftables' }).start(
      task([sleeper('db'), sleeper('cache')]),
    );
    sessions.push(session);
    const ours = await docker.listNetworks({ label: [`${Label.owner}=${testOwnerId(OWNER)}`] });
    // The task network only: each service is in its proxy's network namespace on it.
    expect(ours).toHaveLength(1);
    const bridges = ours.map((n) => bridgeOf(n.Id)).sort();
    for (const bridge of bridges) expect(existsSync(`/sys/class/net/${bridge}`)).toBe(true);
    const guard = new NftablesGuard();
    expect(await guard.members()).toEqual(expect.arrayContaining(bridges));

    await session.stop();
    expect(await objectsOf(testOwnerId(OWNER))).toEqual(NOTHING);
    const after = await guard.members();
    for (const bridge of bridges) expect(after).not.toContain(bridge);
  }, 180_000);
});
