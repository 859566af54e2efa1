/**
 * The fault proxy's behaviours, proven against a tiny HTTP server on a unix socket standing in for
 * dockerd: what is forwarded and what is not, what the client gets, what is recorded, that streams
 * are relayed as they come, and that closing leaves nothing open. The waits are on events (a
 * request recorded, a frame received); the only clock readings are lower bounds of a delay.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerApiError, DockerTimeoutError, dockerApi } from '../../src/docker/client.js';
import { endpointMatcher, startFaultProxy, type FaultProxy } from './fault-proxy.js';

/** What the stand-in engine saw of one request. */
interface Seen {
  method: string;
  url: string;
  body: string;
  at: number;
}

interface Upstream {
  socketPath: string;
  seen: Seen[];
  created: number;
  /** Responses of `GET /stream` still open, oldest first. */
  streams: ServerResponse[];
  /** `GET /stream` responses the client side closed. */
  closedStreams: number;
  /** While set, `POST /containers/create` waits for it before answering. */
  gate: Promise<void> | undefined;
  /** Resolves when a request matching `check` has been seen. */
  waitSeen(check: (seen: Seen) => boolean): Promise<Seen>;
  /** Resolves once `check` holds, looked at after every request and every stream closed. */
  until(check: () => boolean): Promise<void>;
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const dir = await mkdtemp(join(tmpdir(), 'ds-fault-upstream-'));
  const socketPath = join(dir, 'engine.sock');
  const waiters = new Set<() => void>();
  const upstream: Upstream = {
    socketPath,
    seen: [],
    created: 0,
    streams: [],
    closedStreams: 0,
    gate: undefined,
    waitSeen: async (check) => {
      await upstream.until(() => upstream.seen.some(check));
      return upstream.seen.find(check)!;
    },
    until: (check) =>
      new Promise((resolve) => {
        const look = () => {
          if (!check()) return;
          waiters.delete(look);
          resolve();
        };
        waiters.add(look);
        look();
      }),
    close: async () => {
      for (const stream of upstream.streams) stream.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  const json = (res: ServerResponse, status: number, value: unknown) =>
    void res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      upstream.seen.push({ method: req.method ?? '', url: req.url ?? '', body, at: Date.now() });
      for (const look of [...waiters]) look();
      const path = (req.url ?? '').split('?')[0]!.replace(/^\/v[\d.]+/, '');
      if (req.method === 'POST' && path === '/containers/create') {
        void (upstream.gate ?? Promise.resolve()).then(() => {
          upstream.created += 1;
          json(res, 201, { Id: `c${upstream.created}`, Warnings: [] });
        });
      } else if (req.method === 'GET' && path === '/stream') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        upstream.streams.push(res);
        res.on('close', () => {
          upstream.streams = upstream.streams.filter((s) => s !== res);
          if (!res.writableFinished) upstream.closedStreams += 1;
          for (const look of [...waiters]) look();
        });
      } else if (req.method === 'DELETE') {
        res.writeHead(204).end();
      } else {
        json(res, 200, { method: req.method, url: req.url, body });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return upstream;
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** One request through the proxy, on a connection of its own; rejects on a connection error. */
function send(
  proxy: FaultProxy,
  method: string,
  path: string,
  options: { body?: string; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const target = { socketPath: proxy.socketPath, method, path, agent: false as const };
    const req = request({ ...target, ...(options.signal ? { signal: options.signal } : {}) }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.timeoutMs !== undefined) {
      const timer = setTimeout(() => req.destroy(new Error('client timeout')), options.timeoutMs);
      req.on('close', () => clearTimeout(timer));
    }
    req.end(options.body);
  });
}

interface Stream {
  status: number;
  frames: string[];
  /** Resolves once `n` frames have arrived. */
  waitFrames(n: number): Promise<string[]>;
  /** How the stream ended: `end` (cleanly) or `error`. */
  ended: Promise<'end' | 'error'>;
  destroy(): void;
}

function openStream(proxy: FaultProxy, path = '/stream'): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: proxy.socketPath, method: 'GET', path, agent: false }, (res) => {
      const frames: string[] = [];
      const waiters = new Set<() => void>();
      let partial = '';
      res.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop()!;
        frames.push(...lines);
        for (const wake of [...waiters]) wake();
      });
      const ended = new Promise<'end' | 'error'>((done) => {
        res.on('end', () => done('end'));
        res.on('error', () => done('error'));
        res.on('aborted', () => done('error'));
        res.on('close', () => done(res.complete ? 'end' : 'error'));
      });
      resolve({
        status: res.statusCode ?? 0,
        frames,
        waitFrames: (n) =>
          new Promise((done) => {
            const wake = () => {
              if (frames.length < n) return;
              waiters.delete(wake);
              done(frames.slice(0, n));
            };
            waiters.add(wake);
            wake();
          }),
        ended,
        destroy: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

let upstream: Upstream;
let proxy: FaultProxy;

beforeEach(async () => {
  upstream = await startUpstream();
  proxy = await startFaultProxy({ upstreamSocket: upstream.socketPath });
});

afterEach(async () => {
  await proxy.close();
  await upstream.close();
});

describe('endpoint patterns', () => {
  it.each([
    ['DELETE /containers/:id', 'DELETE', '/containers/abc', true],
    ['DELETE /containers/:id', 'DELETE', '/containers/abc/start', false],
    ['DELETE /containers/:id', 'GET', '/containers/abc', false],
    ['POST /containers/create', 'POST', '/containers/create', true],
    ['POST /containers/create', 'post', '/containers/create', true],
    ['GET /events', 'GET', '/events', true],
    ['* /containers/*', 'POST', '/containers/abc/start', true],
    ['/networks/:id', 'DELETE', '/networks/n1', true],
    ['POST /images/create', 'POST', '/images/create/x', false],
  ])('%s against %s %s: %s', (endpoint, method, path, expected) => {
    expect(endpointMatcher(endpoint)(method, path)).toBe(expected);
  });
});

describe('forwarding', () => {
  it('forwards method, path, query and body, answers with the engine’s answer, and records the request', async () => {
    const answer = await send(proxy, 'POST', '/v1.41/things/do?x=1&y=two', { body: '{"Name":"n1"}' });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({
      method: 'POST',
      url: '/v1.41/things/do?x=1&y=two',
      body: '{"Name":"n1"}',
    });
    const [record] = proxy.requests;
    expect(record).toMatchObject({
      method: 'POST',
      path: '/things/do',
      endpoint: 'POST /things/do',
      body: '{"Name":"n1"}',
      forwarded: true,
      upstreamStatus: 200,
      upstreamDone: true,
      answered: 200,
      clientGone: false,
    });
    expect(record!.query.get('y')).toBe('two');
    await proxy.waitFor((r) => r.done, 'the request to be over');
    expect(proxy.pending()).toEqual([]);
  });

  it('counts requests per endpoint pattern', async () => {
    await send(proxy, 'DELETE', '/containers/a');
    await send(proxy, 'DELETE', '/v1.41/containers/b?force=true');
    await send(proxy, 'POST', '/containers/create?name=x', { body: '{}' });
    expect(proxy.count('DELETE /containers/:id')).toBe(2);
    expect(proxy.count('POST /containers/create', (r) => r.query.get('name') === 'x')).toBe(1);
    expect(proxy.count('GET /events')).toBe(0);
  });

  it('relays a stream frame by frame, without waiting for its end', async () => {
    const stream = await openStream(proxy);
    expect(stream.status).toBe(200);
    // The engine has not ended the response: each frame must get through on its own.
    upstream.streams[0]!.write('{"n":1}\n');
    expect(await stream.waitFrames(1)).toEqual(['{"n":1}']);
    upstream.streams[0]!.write('{"n":2}\n');
    expect(await stream.waitFrames(2)).toEqual(['{"n":1}', '{"n":2}']);
    upstream.streams[0]!.end();
    expect(await stream.ended).toBe('end');
  });

  it('a client that goes away stops the request at the engine too', async () => {
    const stream = await openStream(proxy);
    await upstream.waitSeen((s) => s.url === '/stream');
    stream.destroy();
    await proxy.waitFor((r) => r.done, 'the stream to be over');
    expect(proxy.requests[0]).toMatchObject({ clientGone: true, forwarded: true });
    await upstream.until(() => upstream.closedStreams === 1);
  });
});

describe('faults', () => {
  it('delay-request: the engine sees the request only after the delay', async () => {
    proxy.addRule({ endpoint: 'GET /slow', fault: { kind: 'delay-request', ms: 300 } });
    const sent = Date.now();
    const answer = await send(proxy, 'GET', '/slow');
    expect(answer.status).toBe(200);
    const seen = upstream.seen.find((s) => s.url === '/slow')!;
    expect(seen.at - sent).toBeGreaterThanOrEqual(290);
  });

  it('delay-request: a client that gives up during the delay is never forwarded', async () => {
    proxy.addRule({ endpoint: 'GET /slow', fault: { kind: 'delay-request', ms: 60_000 } });
    await expect(send(proxy, 'GET', '/slow', { timeoutMs: 100 })).rejects.toThrow('client timeout');
    const record = await proxy.waitFor((r) => r.done, 'the request to be over');
    expect(record).toMatchObject({ fault: 'delay-request', forwarded: false, clientGone: true });
    expect(upstream.seen).toEqual([]);
  });

  it('delay-response: the engine answers at once, the client gets it after the delay', async () => {
    proxy.addRule({ endpoint: 'GET /slow', fault: { kind: 'delay-response', ms: 300 } });
    const sent = Date.now();
    const answer = send(proxy, 'GET', '/slow');
    await upstream.waitSeen((s) => s.url === '/slow');
    expect((await answer).status).toBe(200);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(290);
  });

  it('drop: never forwarded, never answered, over once the client leaves', async () => {
    proxy.addRule({ endpoint: 'GET /anything', fault: { kind: 'drop' } });
    const client = new AbortController();
    const answer = send(proxy, 'GET', '/anything', { signal: client.signal }).catch(
      (error: unknown) => error,
    );
    const record = await proxy.waitFor((r) => r.fault === 'drop', 'the drop');
    expect(proxy.pending()).toEqual([record]);
    client.abort();
    expect(String(await answer)).toContain('abort');
    await proxy.whenIdle();
    expect(record).toMatchObject({ forwarded: false, clientGone: true });
    expect(record.answered).toBeUndefined();
    expect(upstream.seen).toEqual([]);
  });

  it('reset: the connection closes at once, nothing forwarded', async () => {
    proxy.addRule({ endpoint: 'GET /anything', fault: { kind: 'reset' } });
    await expect(send(proxy, 'GET', '/anything')).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(upstream.seen).toEqual([]);
    expect(proxy.requests[0]).toMatchObject({ fault: 'reset', forwarded: false, clientGone: false });
  });

  it('error: a Docker-style JSON answer, nothing forwarded; `after` lets some through, `times` bounds it', async () => {
    const rule = proxy.addRule({
      endpoint: 'DELETE /containers/:id',
      fault: { kind: 'error', status: 500, message: 'device or resource busy' },
      after: 1,
      times: 2,
    });
    const statuses = [];
    for (const id of ['a', 'b', 'c', 'd'])
      statuses.push((await send(proxy, 'DELETE', `/containers/${id}`)).status);
    expect(statuses).toEqual([204, 500, 500, 204]);
    // Spent after the third: the fourth is not even matched.
    expect(rule).toMatchObject({ matched: 3, fired: 2 });
    expect(upstream.seen.map((s) => s.url)).toEqual(['/containers/a', '/containers/d']);
    const answer = await send(proxy, 'GET', '/x');
    expect(answer.status).toBe(200);
    const failing = proxy.requests[1]!;
    expect(failing).toMatchObject({ fault: 'error', answered: 500, forwarded: false });
  });

  it('error: dockerode and the client read status and message as from dockerd', async () => {
    proxy.addRule({
      endpoint: 'DELETE /containers/:id',
      fault: { kind: 'error', status: 409, message: 'removal of container abc is already in progress' },
    });
    const docker = dockerApi(new Docker(proxy.dockerOptions), { timeoutMs: 5_000 });
    const error = await docker.removeContainer('abc').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerApiError);
    expect(error).toMatchObject({ statusCode: 409 });
    expect((error as Error).message).toBe(
      'container remove abc: removal of container abc is already in progress',
    );
  });

  it('a spent rule steps aside for the next rule of the same endpoint', async () => {
    const first = proxy.addRule({
      endpoint: 'GET /x',
      fault: { kind: 'error', status: 500, message: 'first' },
      times: 1,
    });
    proxy.addRule({ endpoint: 'GET /x', fault: { kind: 'error', status: 409, message: 'then' } });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await send(proxy, 'GET', '/x')).status);
    expect(answers).toEqual([500, 409, 409]);
    expect(first).toMatchObject({ matched: 1, fired: 1 });
  });

  it('a removed rule applies to no further request', async () => {
    const rule = proxy.addRule({ endpoint: 'GET /x', fault: { kind: 'error', status: 500, message: 'no' } });
    expect((await send(proxy, 'GET', '/x')).status).toBe(500);
    rule.remove();
    expect((await send(proxy, 'GET', '/x')).status).toBe(200);
  });

  it('where: a rule applies only to the requests it names', async () => {
    proxy.addRule({
      endpoint: 'POST /containers/create',
      where: (r) => r.query.get('name') === 'b',
      fault: { kind: 'error', status: 500, message: 'no' },
    });
    expect((await send(proxy, 'POST', '/containers/create?name=a', { body: '{}' })).status).toBe(201);
    expect((await send(proxy, 'POST', '/containers/create?name=b', { body: '{}' })).status).toBe(500);
  });

  it('cut: the client gets exactly the frames before the cut, then loses the connection; the engine’s stream is closed', async () => {
    const rule = proxy.addRule({ endpoint: 'GET /stream', fault: { kind: 'cut', afterFrames: 2 }, times: 1 });
    const stream = await openStream(proxy);
    // Three frames in one chunk: the cut falls inside it.
    upstream.streams[0]!.write('{"n":1}\n{"n":2}\n{"n":3}\n');
    expect(await stream.ended).toBe('error');
    expect(stream.frames).toEqual(['{"n":1}', '{"n":2}']);
    await proxy.waitFor((r) => r.done, 'the cut stream to be over');
    await upstream.until(() => upstream.closedStreams === 1);
    expect(rule.fired).toBe(1);
    // Spent: the next stream is whole.
    // Its headers come once the engine holds the stream.
    const next = await openStream(proxy);
    upstream.streams[0]!.write('{"n":1}\n{"n":2}\n{"n":3}\n');
    expect(await next.waitFrames(3)).toHaveLength(3);
  });

  it('cut after 0 frames: the headers arrive, then the connection goes', async () => {
    proxy.addRule({ endpoint: 'GET /stream', fault: { kind: 'cut', afterFrames: 0 } });
    const stream = await openStream(proxy);
    expect(stream.status).toBe(200);
    expect(await stream.ended).toBe('error');
    expect(stream.frames).toEqual([]);
  });

  it('forward-then drop: the engine does the work, the client hears nothing and its deadline fires', async () => {
    proxy.addRule({
      endpoint: 'POST /containers/create',
      fault: { kind: 'forward-then', then: { kind: 'drop' } },
    });
    const docker = dockerApi(new Docker(proxy.dockerOptions), { timeoutMs: 300 });
    await expect(docker.createContainer({ name: 'x', Image: 'i' })).rejects.toBeInstanceOf(
      DockerTimeoutError,
    );
    const record = await proxy.waitFor((r) => r.done, 'the create to be over');
    expect(upstream.created).toBe(1);
    expect(record).toMatchObject({
      fault: 'forward-then',
      forwarded: true,
      upstreamStatus: 201,
      upstreamDone: true,
      clientGone: true,
    });
    expect(record.answered).toBeUndefined();
    expect(JSON.parse(record.body)).toMatchObject({ Image: 'i' });
    // What the client never saw: the id of what the engine made.
    expect(JSON.parse(record.upstreamBody)).toEqual({ Id: 'c1', Warnings: [] });
  });

  it('forward-then drop: a client that gives up before the engine answers does not stop the work', async () => {
    let release!: () => void;
    upstream.gate = new Promise((resolve) => (release = resolve));
    proxy.addRule({
      endpoint: 'POST /containers/create',
      fault: { kind: 'forward-then', then: { kind: 'drop' } },
    });
    await expect(send(proxy, 'POST', '/containers/create', { body: '{}', timeoutMs: 100 })).rejects.toThrow(
      'client timeout',
    );
    await proxy.waitFor((r) => r.clientGone, 'the client to leave');
    release();
    const record = await proxy.waitFor((r) => r.done, 'the create to be over');
    expect(upstream.created).toBe(1);
    expect(record.upstreamStatus).toBe(201);
  });

  it('forward-then error: the engine does the work, the client gets the error', async () => {
    proxy.addRule({
      endpoint: 'POST /containers/create',
      fault: { kind: 'forward-then', then: { kind: 'error', status: 500, message: 'lost' } },
    });
    const answer = await send(proxy, 'POST', '/containers/create', { body: '{}' });
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toEqual({ message: 'lost' });
    expect(upstream.created).toBe(1);
  });

  it('forward-then with holdOthers: a request that arrives while the engine works waits for its answer', async () => {
    let release!: () => void;
    upstream.gate = new Promise((resolve) => (release = resolve));
    proxy.addRule({
      endpoint: 'POST /containers/create',
      fault: { kind: 'forward-then', then: { kind: 'drop' }, holdOthers: true },
      times: 1,
    });
    void send(proxy, 'POST', '/containers/create', { body: '{}', timeoutMs: 100 }).catch(() => {});
    await upstream.waitSeen((s) => s.url === '/containers/create');
    const lookup = send(proxy, 'GET', '/containers/x/json');
    await proxy.waitFor((r) => r.path === '/containers/x/json', 'the lookup to arrive');
    // Held: it cannot reach the engine before the create's answer, however long that takes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(upstream.seen.map((s) => s.url)).toEqual(['/containers/create']);
    release();
    expect((await lookup).status).toBe(200);
    const create = proxy.requests[0]!;
    const lookedUp = upstream.seen.find((s) => s.url === '/containers/x/json')!;
    expect(lookedUp.at).toBeGreaterThanOrEqual(create.upstreamDoneAt!);
  });

  it('error-then-forward: the client gets the error at once, the engine gets the request later', async () => {
    proxy.addRule({
      endpoint: 'DELETE /containers/:id',
      fault: { kind: 'error-then-forward', status: 409, message: 'removal in progress', afterMs: 200 },
    });
    const answer = await send(proxy, 'DELETE', '/containers/abc');
    expect(answer.status).toBe(409);
    const seen = await upstream.waitSeen((s) => s.url === '/containers/abc');
    const record = await proxy.waitFor((r) => r.done, 'the forward to be over');
    expect(record).toMatchObject({ forwarded: true, upstreamStatus: 204, answered: 409 });
    expect(seen.at - record.answeredAt!).toBeGreaterThanOrEqual(190);
  });

  it('outage: open streams are cut, new requests fail until it ends, then all is forwarded again', async () => {
    const stream = await openStream(proxy);
    await upstream.waitSeen((s) => s.url === '/stream');
    const over = proxy.outage(60_000);
    expect(await stream.ended).toBe('error');
    await expect(send(proxy, 'GET', '/during')).rejects.toThrow(/socket hang up|ECONNRESET|EPIPE/);
    expect(proxy.refused).toBe(1);
    expect(proxy.count('GET /during')).toBe(0);
    proxy.endOutage();
    await over;
    expect((await send(proxy, 'GET', '/after')).status).toBe(200);
    expect(upstream.seen.map((s) => s.url)).toEqual(['/stream', '/after']);
  });

  it('forward-then outage: the engine does the work, then the connection and every new one fail for a while', async () => {
    proxy.addRule({
      endpoint: 'POST /containers/create',
      fault: { kind: 'forward-then', then: { kind: 'outage', ms: 60_000 } },
    });
    await expect(send(proxy, 'POST', '/containers/create', { body: '{}' })).rejects.toThrow(
      /socket hang up|ECONNRESET/,
    );
    expect(upstream.created).toBe(1);
    await expect(send(proxy, 'GET', '/during')).rejects.toThrow(/socket hang up|ECONNRESET|EPIPE/);
    proxy.endOutage();
    await proxy.outageOver();
    expect((await send(proxy, 'GET', '/after')).status).toBe(200);
    expect(proxy.requests[0]).toMatchObject({
      fault: 'forward-then',
      upstreamStatus: 201,
      clientGone: false,
    });
  });
});

describe('closing', () => {
  it('closes open streams and unanswered requests, stops listening and removes its socket', async () => {
    proxy.addRule({ endpoint: 'GET /anything', fault: { kind: 'drop' } });
    const stream = await openStream(proxy);
    await upstream.waitSeen((s) => s.url === '/stream');
    const dropped = send(proxy, 'GET', '/anything').catch((error: unknown) => error);
    await proxy.waitFor((r) => r.fault === 'drop', 'the drop');
    const socketPath = proxy.socketPath!;
    await proxy.close();
    expect(await stream.ended).toBe('error');
    expect(String(await dropped)).toMatch(/socket hang up|ECONNRESET/);
    expect(existsSync(socketPath)).toBe(false);
    await upstream.until(() => upstream.closedStreams === 1);
  });
});

describe('on TCP', () => {
  it('listens on loopback and forwards the same way', async () => {
    const tcp = await startFaultProxy({ upstreamSocket: upstream.socketPath, listen: 'tcp' });
    try {
      const options = tcp.dockerOptions as { host: string; port: number };
      expect(options.host).toBe('127.0.0.1');
      const docker = dockerApi(new Docker(tcp.dockerOptions), { timeoutMs: 5_000 });
      await docker.removeContainer('abc');
      expect(tcp.count('DELETE /containers/:id')).toBe(1);
    } finally {
      await tcp.close();
    }
  });
});
