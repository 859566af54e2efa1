/**
 * Readiness by a declared log line (`src/observed-state/ready-line.ts`): the framing, the line
 * search, and which health readiness sees before and after the line, across restarts, a log that
 * cannot be read and Docker's own verdict.
 */
import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import type { DockerApi } from '../../src/docker/client.js';
import { DockerApiError } from '../../src/docker/client.js';
import {
  LineMatcher,
  LogFrames,
  READY_LINE_LABEL,
  ReadyLines,
  unixSince,
  withReadyLines,
} from '../../src/observed-state/ready-line.js';
import type { ObservedContainer, Snapshot } from '../../src/observed-state/types.js';

/** One frame as Docker sends it for a container without a TTY (1: stdout, 2: stderr). */
function frame(text: string, stream = 1): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function container(overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: 'c1',
    name: 'ds-t-0_db_proxy',
    labels: { [READY_LINE_LABEL]: 'listening on' },
    image: 'proxy',
    imageId: 'sha256:p',
    state: 'running',
    exitCode: 0,
    oomKilled: false,
    health: 'starting',
    networks: {},
    startedAt: '2026-12-02T10:00:00.123456789Z',
    ...overrides,
  };
}

/** A Docker whose `followLogs` hands out streams the test writes to, and records each call. */
function followingDocker(fail?: Error) {
  const streams: { id: string; since: string; stream: PassThrough }[] = [];
  const docker = {
    followLogs: async (id: string, since: string) => {
      if (fail) throw fail;
      const stream = new PassThrough();
      streams.push({ id, since, stream });
      return stream;
    },
  } as unknown as DockerApi;
  return { docker, streams };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('LogFrames', () => {
  it('hands on each payload, whatever the chunks cut through', () => {
    const payloads: string[] = [];
    const frames = new LogFrames((p) => payloads.push(p.toString()));
    const bytes = Buffer.concat([frame('one\n'), frame('two\n', 2), frame('three\n')]);
    // Cut inside a header, inside a payload, and between frames.
    for (const [from, to] of [
      [0, 3],
      [3, 10],
      [10, 12],
      [12, 24],
      [24, bytes.length],
    ])
      frames.push(bytes.subarray(from, to));
    expect(payloads).toEqual(['one\n', 'two\n', 'three\n']);
  });
});

describe('LineMatcher', () => {
  it('finds the text within one line, across payloads that split it', () => {
    const m = new LineMatcher('listening on');
    expect(m.push(Buffer.from('starting\nlist'))).toBe(false);
    expect(m.push(Buffer.from('ening on :61080\n'))).toBe(true);
  });

  it('does not join the end of one line to the start of the next', () => {
    const m = new LineMatcher('listening on');
    expect(m.push(Buffer.from('listening\n'))).toBe(false);
    expect(m.push(Buffer.from(' on\n'))).toBe(false);
  });
});

describe('unixSince', () => {
  it("turns Docker's startedAt into the Unix seconds a logs call takes, to the nanosecond", () => {
    expect(unixSince('2026-12-02T09:52:14.545031758Z')).toBe('1796205134.545031758');
    expect(unixSince('2026-12-02T09:52:14.5Z')).toBe('1796205134.500000000');
    expect(unixSince('2026-12-02T09:52:14Z')).toBe('1796205134.000000000');
    // Anything else: from the beginning of the log (a line from before is still a line it printed).
    expect(unixSince('yesterday')).toBe('0');
  });
});

describe('ReadyLines', () => {
  it('shows a running container that declares a line as starting until it prints it, then healthy', async () => {
    const { docker, streams } = followingDocker();
    let changed = 0;
    const lines = new ReadyLines(docker, { changed: () => changed++, reportError: () => {} });
    // No health check in the image: Docker says `none`, which alone would read as ready.
    const c = container({ health: 'none' });
    expect(lines.present(c).health).toBe('starting');
    lines.sync([c]);
    await tick();
    expect(streams.map((s) => [s.id, s.since])).toEqual([['c1', '1796205600.123456789']]);
    streams[0]!.stream.write(frame('loading\n'));
    await tick();
    expect(changed).toBe(0);
    expect(lines.present(c).health).toBe('starting');
    streams[0]!.stream.write(frame('taskcluster-proxy listening on 127.0.0.1:61080\n'));
    await tick();
    expect(changed).toBe(1);
    expect(lines.present(c).health).toBe('healthy');
    // Seen: the stream is closed and no other one opened, with the cache's own iterator too.
    expect(streams[0]!.stream.destroyed).toBe(true);
    lines.sync(new Map([[c.id, c]]).values());
    lines.sync(new Map([[c.id, c]]).values());
    await tick();
    expect(streams).toHaveLength(1);
    expect(lines.present(c).health).toBe('healthy');
  });

  it('a restart in place (a new startedAt) must print the line again', async () => {
    const { docker, streams } = followingDocker();
    const lines = new ReadyLines(docker, { changed: () => {}, reportError: () => {} });
    const first = container();
    lines.sync([first]);
    await tick();
    streams[0]!.stream.write(frame('listening on :1\n'));
    await tick();
    const again = container({ startedAt: '2026-12-02T10:05:00Z' });
    expect(lines.present(again).health).toBe('starting');
    lines.sync([again]);
    await tick();
    expect(streams[1]!.since).toBe('1796205900.000000000');
  });

  it("a start folded from our own call (no time yet) is followed from the log's beginning, and stays ready once its time is known", async () => {
    const { docker, streams } = followingDocker();
    const lines = new ReadyLines(docker, { changed: () => {}, reportError: () => {} });
    const folded = container({ startedAt: undefined });
    lines.sync([folded]);
    await tick();
    expect(streams.map((s) => s.since)).toEqual(['0']);
    streams[0]!.stream.write(frame('listening on :1\n'));
    await tick();
    expect(lines.present(folded).health).toBe('healthy');
    // The first inspect brings the start's time: the same run, still ready, no new follow.
    const inspected = container();
    lines.sync([inspected]);
    await tick();
    expect(lines.present(inspected).health).toBe('healthy');
    expect(streams).toHaveLength(1);
    // A later start in place is a new run.
    const restarted = container({ startedAt: '2026-12-02T10:09:00Z' });
    expect(lines.present(restarted).health).toBe('starting');
  });

  it("keeps Docker's verdict: unhealthy stays unhealthy, healthy needs no line", () => {
    const { docker } = followingDocker();
    const lines = new ReadyLines(docker, { changed: () => {}, reportError: () => {} });
    expect(lines.present(container({ health: 'unhealthy' })).health).toBe('unhealthy');
    expect(lines.present(container({ health: 'healthy' })).health).toBe('healthy');
    // A container without the label, or not running, is Docker's alone.
    expect(lines.present(container({ labels: {}, health: 'none' })).health).toBe('none');
    expect(lines.present(container({ state: 'exited', health: 'none' })).health).toBe('none');
  });

  it("a log that cannot be read (a logging driver without reads) leaves readiness to Docker's health", async () => {
    const { docker } = followingDocker(
      new DockerApiError('container logs c1', 501, 'configured logging driver does not support reading'),
    );
    const errors: unknown[] = [];
    let changed = 0;
    const lines = new ReadyLines(docker, { changed: () => changed++, reportError: (e) => errors.push(e) });
    const c = container({ health: 'none' });
    lines.sync([c]);
    await tick();
    expect(errors).toHaveLength(1);
    expect(changed).toBe(1);
    expect(lines.present(c).health).toBe('none');
  });

  it('stops following a container that stopped or went, and everything on close', async () => {
    const { docker, streams } = followingDocker();
    const lines = new ReadyLines(docker, { changed: () => {}, reportError: () => {} });
    lines.sync([container(), container({ id: 'c2' })]);
    await tick();
    expect(streams).toHaveLength(2);
    lines.sync([container({ state: 'exited' })]);
    expect(streams.map((s) => s.stream.destroyed)).toEqual([true, true]);
    lines.sync([container({ id: 'c3' })]);
    await tick();
    lines.close();
    expect(streams[2]!.stream.destroyed).toBe(true);
  });
});

describe('withReadyLines (one-shot snapshots: plan, status)', () => {
  it("reads each unready declaring container's log since its start once, and keeps Docker's verdict otherwise", async () => {
    const asked: [string, unknown][] = [];
    const logs: Record<string, string | Error> = {
      said: 'loading\ntaskcluster-proxy listening on 127.0.0.1:61080\n',
      silent: 'loading\n',
      unreadable: new DockerApiError('container logs unreadable', 501, 'not supported'),
    };
    const docker = {
      containerLogs: async (id: string, options: { since?: unknown }) => {
        asked.push([id, options.since]);
        const log = logs[id]!;
        if (log instanceof Error) throw log;
        return log;
      },
    } as unknown as DockerApi;
    const snapshot: Snapshot = {
      time: '2026-12-02T10:00:01Z',
      containers: [
        container({ id: 'said' }),
        container({ id: 'silent', health: 'none' }),
        container({ id: 'unreadable', health: 'none' }),
        container({ id: 'docker-says', health: 'unhealthy' }),
      ],
      networks: [],
      images: [],
      missingImages: [],
      foreign: [],
    };
    const seen = await withReadyLines(docker, snapshot);
    expect(Object.fromEntries(seen.containers.map((c) => [c.id, c.health]))).toEqual({
      said: 'healthy',
      silent: 'starting',
      unreadable: 'none',
      'docker-says': 'unhealthy',
    });
    expect(asked.sort()).toEqual([
      ['said', '1796205600.123456789'],
      ['silent', '1796205600.123456789'],
      ['unreadable', '1796205600.123456789'],
    ]);
  });
});
