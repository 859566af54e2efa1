/**
 * The client refuses an empty id or name before sending anything: dockerode would turn
 * `inspectNetwork('')` into `GET /networks/`, whose answer is the list of every network.
 *
 * The events call's deadline covers only the connection: a daemon that answers after it must not
 * leave a socket open, and a stream that arrived in time must not be cut by it. A pull fails when
 * its progress stream carries an error, although dockerd answered 200. Those tests talk to a
 * stand-in for dockerd on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import Docker from 'dockerode';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import {
  DockerApiError,
  DockerTimeoutError,
  DockerUnreachableError,
  dockerApi,
  PullProgressTally,
} from '../../src/docker/client.js';

// A socket that does not exist: a call that reached the network would fail with ENOENT instead.
const api = dockerApi(new Docker({ socketPath: '/nonexistent/docker.sock' }));

describe('dockerApi', () => {
  it.each([
    ['inspectNetwork', () => api.inspectNetwork('')],
    ['inspectContainer', () => api.inspectContainer('')],
    ['removeNetwork', () => api.removeNetwork('')],
    ['disconnectNetwork', () => api.disconnectNetwork('net', '')],
    ['connectNetwork', () => api.connectNetwork('', 'ctr', [])],
  ])('%s with an empty id is refused without a request', async (_name, run) => {
    const error = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DockerApiError);
    expect(error).toMatchObject({ statusCode: 400, message: expect.stringContaining('empty id or name') });
  });

  it('a call with ids reaches the engine (here: the missing socket)', async () => {
    await expect(api.inspectNetwork('some-network')).rejects.toThrow(/ENOENT|connect/);
  });
});

describe('an engine out of reach', () => {
  const unreachable = async (call: Promise<unknown>) => {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DockerUnreachableError);
    // Still a DockerApiError, without a status: whoever catches those catches this too.
    expect(error).toBeInstanceOf(DockerApiError);
    expect(error).toMatchObject({ statusCode: undefined });
    return error as DockerUnreachableError;
  };

  it('no socket: ENOENT', async () => {
    const error = await unreachable(api.createNetwork({ Name: 'n' }));
    expect(error.code).toBe('ENOENT');
    expect(error.message).toMatch(/^network create n: connect ENOENT \/nonexistent\/docker.sock/);
  });

  it('nothing listening: ECONNREFUSED', async () => {
    const { server } = await standIn(() => {});
    const { port } = server.address() as AddressInfo;
    server.close();
    const refused = dockerApi(new Docker({ protocol: 'http', host: '127.0.0.1', port }));
    expect((await unreachable(refused.listContainers({}))).code).toBe('ECONNREFUSED');
  });

  it('the connection closed before an answer: ECONNRESET', async () => {
    const { docker } = await standIn((req) => req.socket.destroy());
    expect((await unreachable(dockerApi(docker).startContainer('c1'))).code).toBe('ECONNRESET');
  });

  it('an answer, even a 500 without a body, is not out of reach', async () => {
    const { docker } = await standIn((_req, res) => void res.writeHead(500).end());
    const error = await dockerApi(docker)
      .startContainer('c1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerApiError);
    expect(error).not.toBeInstanceOf(DockerUnreachableError);
    expect(error).toMatchObject({ statusCode: 500 });
  });
});

/** A stand-in for dockerd that answers `/events` after `answerAfterMs` (or never), and reports when that connection closes. */
async function eventsServer(answerAfterMs: number | 'never'): Promise<{
  docker: Docker;
  /** Resolves when the socket of the `/events` request closes. */
  closed: Promise<void>;
  isClosed: () => boolean;
  /** Writes one event frame to the open `/events` response. */
  send: (frame: string) => void;
  server: Server;
}> {
  let isClosed = false;
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  let send: (frame: string) => void = () => {
    throw new Error('no /events response is open');
  };
  const { docker, server } = await standIn((req, res) => {
    if (!req.url?.includes('/events')) {
      res.writeHead(404).end();
      return;
    }
    const answer =
      answerAfterMs === 'never'
        ? undefined
        : setTimeout(() => {
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.flushHeaders();
            send = (frame) => res.write(frame);
          }, answerAfterMs);
    req.socket.once('close', () => {
      clearTimeout(answer);
      isClosed = true;
      markClosed();
    });
  });
  return {
    docker,
    closed,
    isClosed: () => isClosed,
    send: (frame) => send(frame),
    server,
  };
}

/** A stand-in for dockerd on 127.0.0.1 and a client of it; it is closed after each test. */
async function standIn(handler: RequestListener): Promise<{ docker: Docker; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return { docker: new Docker({ protocol: 'http', host: '127.0.0.1', port }), server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** `'settled'` if `promise` settles within `ms`, else `'pending'`; the generous bound keeps it from being a timing test. */
async function within(promise: Promise<unknown>, ms: number): Promise<'settled' | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  try {
    return await Promise.race([promise.then(() => 'settled' as const), pending]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('events deadline', () => {
  it('a daemon that answers after the deadline: the call times out and the connection is closed', async () => {
    const daemon = await eventsServer(600);
    const api = dockerApi(daemon.docker, { timeoutMs: 200 });
    await expect(api.events({})).rejects.toBeInstanceOf(DockerTimeoutError);
    expect(await within(daemon.closed, 30_000)).toBe('settled');
  });

  it('a daemon that never answers: the call times out and the connection is closed', async () => {
    const daemon = await eventsServer('never');
    const api = dockerApi(daemon.docker, { timeoutMs: 200 });
    await expect(api.events({})).rejects.toBeInstanceOf(DockerTimeoutError);
    expect(await within(daemon.closed, 30_000)).toBe('settled');
  });

  it('a stream that arrives after the deadline is destroyed even if the request ignored the abort', async () => {
    const late = new PassThrough();
    const ignoresAbort = {
      getEvents: () => new Promise((resolve) => setTimeout(() => resolve(late), 400)),
    } as unknown as Docker;
    const api = dockerApi(ignoresAbort, { timeoutMs: 200 });
    await expect(api.events({})).rejects.toBeInstanceOf(DockerTimeoutError);
    const destroyed = new Promise((resolve) => late.once('close', resolve));
    expect(await within(destroyed, 30_000)).toBe('settled');
  });

  it('a stream returned before the deadline outlives it and keeps delivering', async () => {
    const daemon = await eventsServer(0);
    const api = dockerApi(daemon.docker, { timeoutMs: 200 });
    const stream = await api.events({});
    await sleep(600);
    expect(stream.destroyed).toBe(false);
    expect(daemon.isClosed()).toBe(false);
    const data = new Promise<string>((resolve) =>
      stream.once('data', (chunk: Buffer) => resolve(String(chunk))),
    );
    daemon.send('{"Type":"container","Action":"start"}\n');
    expect(await data).toContain('"Action":"start"');
    stream.destroy();
    expect(await within(daemon.closed, 30_000)).toBe('settled');
  });
});

/** A daemon that answers `POST /images/create` with 200 and these progress lines. */
async function pullAnswer(lines: object[]): Promise<Docker> {
  const { docker } = await standIn((req, res) => {
    if (req.method !== 'POST' || !req.url?.includes('/images/create')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(lines.map((line) => `${JSON.stringify(line)}\r\n`).join(''));
  });
  return docker;
}

describe('pullImage', () => {
  it('a progress stream that ends without an error is a pull that succeeded', async () => {
    const docker = await pullAnswer([
      { status: 'Pulling from library/x', id: 'latest' },
      { status: 'Digest: sha256:' + '0'.repeat(64) },
      { status: 'Status: Downloaded newer image for x:latest' },
    ]);
    await expect(dockerApi(docker).pullImage('x:latest')).resolves.toBeUndefined();
  });

  it('an error line in the progress stream fails the pull with its message and no status code', async () => {
    // As dockerd 20.10 answered for a manifest list without linux/amd64 (captured on the engine).
    const docker = await pullAnswer([
      { status: 'Pulling from platform/x', id: 'latest' },
      {
        errorDetail: { message: 'no matching manifest for linux/amd64 in the manifest list entries' },
        error: 'no matching manifest for linux/amd64 in the manifest list entries',
      },
    ]);
    const error = await dockerApi(docker)
      .pullImage('127.0.0.1:5000/platform/x:latest')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerApiError);
    expect(error).toMatchObject({
      statusCode: undefined,
      message:
        'image pull 127.0.0.1:5000/platform/x:latest: no matching manifest for linux/amd64 in the manifest list entries',
    });
  });
});

describe('PullProgressTally', () => {
  it('sums the layers, counts a completed layer whole, and never reports fewer bytes than before', () => {
    const tally = new PullProgressTally();
    const seen: number[] = [];
    const add = (line: object) => {
      if (tally.add(line)) seen.push(tally.current().currentBytes);
    };
    add({ status: 'Pulling fs layer', id: 'a' });
    add({ status: 'Downloading', id: 'a', progressDetail: { current: 100, total: 1000 } });
    add({ status: 'Downloading', id: 'b', progressDetail: { current: 50, total: 500 } });
    // A retried layer starts again from zero: the tally keeps its best.
    add({ status: 'Downloading', id: 'a', progressDetail: { current: 10, total: 1000 } });
    add({ status: 'Download complete', id: 'a' });
    add({ status: 'Extracting', id: 'a', progressDetail: { current: 999, total: 1000 } });
    expect(seen).toEqual([100, 150, 1050]);
    expect(tally.current()).toEqual({ currentBytes: 1050, totalBytes: 1500 });
  });
});
