/**
 * A slow consumer: while the observer's subscriber is synchronously busy for 2 s (so nothing in
 * this process reads the event stream), 200 unrelated containers churn and our own objects change.
 * dockerd may skip events meant for a reader that lags; afterwards the observer's snapshot of our
 * objects must still be exact, equal to a fresh full collect. The periodic relist is pushed out of
 * the way: what repairs a lag here is the observer's own stall detection.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { tap } from 'rxjs';
import { Label } from '../../src/desired-state/labels.js';
import { collectSnapshot } from '../../src/observed-state/collect.js';
import { observe } from '../../src/observed-state/observe.js';
import type { ObserveScope } from '../../src/observed-state/scope.js';
import type { Snapshot } from '../../src/observed-state/types.js';
import {
  IMAGES,
  dockerCli,
  removeMadeByThisRun,
  testDocker,
  testLabels,
  testOwnerId,
} from '../support/docker.js';
import { container, content, fakeTaskId, productLabels, record } from './support.js';

const docker = testDocker();
const owner = 'observe-slow';
const taskId = fakeTaskId('slow');
const stem = `ds-${taskId}-0`;
const scope: ObserveScope = { ownerId: testOwnerId(owner), taskId, runId: 0, images: [IMAGES.busybox] };
const churnMark = `docker-services-test.suite=${taskId}`;

/**
 * The churn scripts still running: a test cut short by its timeout must not leave one creating
 * containers after the clean-up.
 */
const scripts = new Set<ChildProcess>();

afterAll(async () => {
  await Promise.all(
    [...scripts].map(async (child) => {
      const exited = new Promise((resolve) => child.once('close', resolve));
      // The whole group: the script's docker and xargs children too.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    }),
  );
  await removeMadeByThisRun(
    docker,
    (l) => l[Label.owner] === scope.ownerId || l['docker-services-test.suite'] === taskId,
  );
}, 120_000);

function run(script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      env: { ...process.env, ...env },
      // Its own process group, so that the clean-up can stop it with everything it started.
      detached: true,
    });
    scripts.add(child);
    child.on('close', () => scripts.delete(child));
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`script failed (${code}): ${output}`)),
    );
  });
}

describe('observe with a slow consumer', () => {
  it('is exact after the consumer blocked for 2 s while 200 unrelated containers churned', async () => {
    const names = [1, 2, 3, 4, 5].map((i) => `${stem}_s${i}`);
    const labels = productLabels(owner, taskId, 0);
    for (const name of names.slice(0, 4))
      await dockerCli(
        'run',
        '-d',
        '--name',
        name,
        ...labels,
        '--network',
        'none',
        IMAGES.busybox,
        'sleep',
        '3600',
      );

    let blockOnNext = false;
    let blockedMs = 0;
    // The consumer: busies the whole process once, synchronously, inside the observer's emission.
    const slowConsumer = tap<Snapshot>(() => {
      if (!blockOnNext) return;
      blockOnNext = false;
      const from = Date.now();
      while (Date.now() - from < 2_000) {
        // Synchronously busy: nothing in this process reads the event stream meanwhile.
      }
      blockedMs = Date.now() - from;
    });
    const rec = record((onError) =>
      observe(docker, scope, {
        relistIntervalMs: 3_600_000,
        backoff: { initialMs: 100, maxMs: 2_000 },
        onError,
      }).pipe(slowConsumer),
    );
    const started = await rec.waitFor((s) => s.containers.length === 4, 'our four containers');
    expect(started.containers.every((c) => c.state === 'running')).toBe(true);
    try {
      blockOnNext = true;
      const churnStarted = Date.now();
      // The first change triggers a snapshot, and so the 2 s block; the rest happens while blocked.
      const script = `
        docker kill "$S1" >/dev/null
        sleep 0.3
        seq 1 200 | xargs -P 6 -I{} sh -c 'id=$(docker create --label "$MARK" --label "$RUN" --network none "$IMAGE" true) && docker rm "$id" >/dev/null' &
        churn=$!
        sleep 0.5
        docker rm -f "$S2" >/dev/null
        docker kill "$S3" >/dev/null
        docker create --name "$S5" ${labels.map((l) => `'${l}'`).join(' ')} --network none "$IMAGE" true >/dev/null
        wait "$churn"
      `;
      const [runLabel] = Object.entries(testLabels()).map(([k, v]) => `${k}=${v}`);
      await run(script, {
        S1: names[0]!,
        S2: names[1]!,
        S3: names[2]!,
        S5: names[4]!,
        MARK: churnMark,
        RUN: runLabel!,
        IMAGE: IMAGES.busybox,
      });
      const churnMs = Date.now() - churnStarted;

      const fresh = await collectSnapshot(docker, scope);
      const states = Object.fromEntries(fresh.containers.map((c) => [c.name, c.state]));
      expect(states).toEqual({
        [names[0]!]: 'exited',
        [names[2]!]: 'exited',
        [names[3]!]: 'running',
        [names[4]!]: 'created',
      });
      const seen = await rec.waitFor(
        (s) => isDeepStrictEqual(content(s), content(fresh)),
        `the snapshot equals a fresh collect: ${JSON.stringify(states)}`,
      );
      expect(content(seen)).toEqual(content(fresh));
      expect(container(seen, names[1]!)).toBeUndefined();
      console.log(
        `slow consumer: blocked ${blockedMs} ms; churn of 200 containers took ${churnMs} ms; ` +
          `${rec.snapshots.length} snapshots, ${rec.errors.length} errors`,
      );
      expect(blockedMs).toBeGreaterThanOrEqual(2_000);
    } finally {
      rec.stop();
    }
  }, 180_000);
});
