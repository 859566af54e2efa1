/**
 * The client refuses an empty id or name before sending anything: dockerode would turn
 * `inspectNetwork('')` into `GET /networks/`, whose answer is the list of every network.
 *
 * The events call's deadline covers only the connection: a daemon that answers after it must not
 * leave a socket open, and a stream that arrived in time must not be cut by it. Those tests talk
 * to a stand-in for dockerd on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import Docker from 'dockerode';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { DockerApiError, DockerTimeoutError, dockerApi } from '../../src/docker/client.js';

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
  const server = createServer((req, res) => {
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return {
    docker: new Docker({ protocol: 'http', host: '127.0.0.1', port }),
    closed,
    isClosed: () => isClosed,
    send: (frame) => send(frame),
    server,
  };
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
    expect(await within(daemon.closed, 5_000)).toBe('settled');
  });

  it('a daemon that never answers: the call times out and the connection is closed', async () => {
    const daemon = await eventsServer('never');
    const api = dockerApi(daemon.docker, { timeoutMs: 200 });
    await expect(api.events({})).rejects.toBeInstanceOf(DockerTimeoutError);
    expect(await within(daemon.closed, 5_000)).toBe('settled');
  });

  it('a stream that arrives after the deadline is destroyed even if the request ignored the abort', async () => {
    const late = new PassThrough();
    const ignoresAbort = {
      getEvents: () => new Promise((resolve) => setTimeout(() => resolve(late), 400)),
    } as unknown as Docker;
    const api = dockerApi(ignoresAbort, { timeoutMs: 200 });
    await expect(api.events({})).rejects.toBeInstanceOf(DockerTimeoutError);
    const destroyed = new Promise((resolve) => late.once('close', resolve));
    expect(await within(destroyed, 5_000)).toBe('settled');
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
    expect(await within(daemon.closed, 5_000)).toBe('settled');
  });
});
