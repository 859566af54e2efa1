/**
 * A fault-injecting HTTP proxy in front of the Docker socket, for tests that need the engine to
 * misbehave the ways it does in production: slow, silent, cut off, answering errors, or doing the
 * work and losing the answer. Tests point a dockerode client at it (`new Docker({ socketPath })`,
 * then `dockerApi(…)`); it forwards to the real engine and applies the first matching rule.
 *
 * Rules match an endpoint (`POST /containers/create`, `DELETE /containers/:id`, `GET /events`; the
 * `/v1.41` prefix and the query are ignored), optionally a further condition, and apply their fault
 * to `times` matching requests (default: all) after letting `after` through. The first rule that
 * matches and is not spent decides; without one, a request is forwarded as is. Responses are streamed chunk by chunk, never
 * buffered: `/events` and pull progress reach the client as the engine writes them.
 *
 * Every request is recorded (endpoint, query, the first 64 KiB of its body, what the engine
 * answered, what the client got), so that a test can count what reached the engine: e.g. that a
 * create was sent once however often the client's deadline fired.
 *
 * Not proxied: connection upgrades (attach, exec): the library uses neither, and such a request
 * is closed.
 */
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import {
  createServer,
  request as httpRequest,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What becomes of a request whose work the engine has done ("forward, then fail"). */
export type Afterwards =
  /** No answer ever: the client's deadline fires (the API timeout where the create still happens). */
  | { kind: 'drop' }
  /** The connection is closed without an answer. */
  | { kind: 'reset' }
  /** An error answer instead of the engine's. */
  | { kind: 'error'; status: number; message: string }
  /** The engine "dies" for `ms`: see `FaultProxy.outage`. This request's connection goes with it. */
  | { kind: 'outage'; ms: number };

export type Fault =
  /** Forwarded after `ms`; a client that gives up meanwhile is never forwarded. */
  | { kind: 'delay-request'; ms: number }
  /** Forwarded at once; the engine's answer is held for `ms`. */
  | { kind: 'delay-response'; ms: number }
  /** Never forwarded, never answered. */
  | { kind: 'drop' }
  /** The connection is closed at once; never forwarded. */
  | { kind: 'reset' }
  /** Answered with a Docker-style error (`{"message": …}`); never forwarded. */
  | { kind: 'error'; status: number; message: string }
  /**
   * Forwarded; the response is passed on for `afterFrames` newline-ended frames (event and pull
   * progress streams are JSON lines) or `afterBytes` bytes of body, then the connection is closed.
   */
  | { kind: 'cut'; afterFrames?: number; afterBytes?: number }
  /**
   * Forwarded and the engine's whole answer read (it did the work); then `then`. With
   * `holdOthers`, requests that arrive while the engine works wait until it has answered, so that
   * a client's lookup after its deadline sees the engine's work however slow the engine is.
   */
  | { kind: 'forward-then'; then: Afterwards; holdOthers?: boolean }
  /**
   * Answered with an error at once; the request is forwarded `afterMs` later, its answer
   * discarded: someone else's operation already in progress, finishing a little later.
   */
  | { kind: 'error-then-forward'; status: number; message: string; afterMs: number };

export interface FaultRule {
  /** `METHOD /path/:param/…`; `*` for any method or, as the last segment, any rest of the path. */
  endpoint: string;
  fault: Fault;
  /** How many matching requests get the fault (default: every one). */
  times?: number;
  /** Matching requests let through untouched before the fault applies (default 0). */
  after?: number;
  /** A further condition, e.g. on the query. */
  where?: (request: ProxiedRequest) => boolean;
  /** Called when the rule applies its fault, before it does. */
  onFault?: (request: ProxiedRequest) => void;
}

export interface RuleHandle {
  /** Matching requests seen while the rule was not spent, let through or not. */
  readonly matched: number;
  /** Requests the fault was applied to. */
  readonly fired: number;
  /** The rule applies to no further request. */
  remove(): void;
}

/** One request as the proxy saw it; updated as it goes. */
export interface ProxiedRequest {
  readonly seq: number;
  readonly method: string;
  /** Without the API version prefix and the query. */
  readonly path: string;
  /** `METHOD path`. */
  readonly endpoint: string;
  readonly query: URLSearchParams;
  readonly receivedAt: number;
  /** The first 64 KiB of the request body, as far as it was read. */
  body: string;
  /** The fault applied, if any. */
  fault?: Fault['kind'];
  /** Sent to the engine. */
  forwarded: boolean;
  /** The engine's status code. */
  upstreamStatus?: number;
  /** The engine's answer was read to its end. */
  upstreamDone: boolean;
  /** When the engine's answer ended (epoch ms). */
  upstreamDoneAt?: number;
  /** The first 64 KiB of the engine's answer (e.g. the id a create returned, though the client never saw it). */
  upstreamBody: string;
  /** The status the client got from the proxy (the engine's, or a fault's); none if never answered. */
  answered?: number;
  /** When the client was answered, reset or cut off (epoch ms). */
  answeredAt?: number;
  /** The client closed the connection before the exchange was over (its deadline, an abort). */
  clientGone: boolean;
  /** Nothing more will happen: the client side is over and nothing is in flight to the engine. */
  done: boolean;
}

export interface FaultProxyOptions {
  /** The engine's socket (default `DOCKER_SOCKET` or `/var/run/docker.sock`). */
  upstreamSocket?: string;
  /** Where to listen: a unix socket in a fresh temp dir (default), or a loopback TCP port. */
  listen?: 'unix' | 'tcp';
}

const BODY_LIMIT = 64 * 1024;
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

export async function startFaultProxy(options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const proxy = new FaultProxy(
    options.upstreamSocket ?? process.env.DOCKER_SOCKET ?? '/var/run/docker.sock',
    options.listen ?? 'unix',
  );
  await proxy.listen();
  return proxy;
}

interface Rule extends FaultRule {
  test: (method: string, path: string) => boolean;
  matched: number;
  fired: number;
  removed: boolean;
}

/** The mutable side of a record, with what only the proxy needs. */
interface Exchange {
  record: ProxiedRequest;
  req: IncomingMessage;
  res: ServerResponse;
  socket: Socket;
  /** The proxy itself ended the client side (answered, reset, cut). */
  ended: boolean;
  clientOver: boolean;
  /** An engine request is planned or in flight. */
  upstreamPending: boolean;
}

export class FaultProxy {
  /** Every request, in arrival order. */
  readonly requests: ProxiedRequest[] = [];
  /** Connections closed as they arrived, during an outage. */
  refused = 0;
  private readonly server: Server;
  private readonly rules: Rule[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly upstreams = new Set<ClientRequest>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly holds = new Set<Promise<void>>();
  private readonly changes = new EventEmitter();
  private outageEnds: (() => void) | undefined;
  private dir: string | undefined;
  private closed = false;
  private address: { socketPath: string } | { host: string; port: number } | undefined;

  constructor(
    private readonly upstreamSocket: string,
    private readonly mode: 'unix' | 'tcp',
  ) {
    this.changes.setMaxListeners(0);
    this.server = createServer((req, res) => void this.onRequest(req, res));
    // An /events stream or a dropped request lasts as long as the test wants it to.
    this.server.requestTimeout = 0;
    this.server.timeout = 0;
    this.server.on('connection', (socket: Socket) => {
      if (this.outageEnds || this.closed) {
        this.refused += 1;
        return void socket.destroy();
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('upgrade', (_req: IncomingMessage, socket: Socket) => socket.destroy());
  }

  /** @internal */
  async listen(): Promise<void> {
    if (this.mode === 'unix') {
      this.dir = await mkdtemp(join(tmpdir(), 'ds-fault-proxy-'));
      const socketPath = join(this.dir, 'docker.sock');
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(socketPath, () => resolve());
      });
      this.address = { socketPath };
    } else {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(0, '127.0.0.1', () => resolve());
      });
      this.address = { host: '127.0.0.1', port: (this.server.address() as AddressInfo).port };
    }
  }

  /** Options for `new Docker(…)` (dockerode) that reach the engine through this proxy. */
  get dockerOptions(): { socketPath: string } | { host: string; port: number; protocol: 'http' } {
    const address = this.address!;
    return 'socketPath' in address ? address : { ...address, protocol: 'http' };
  }

  /** The unix socket to point a client at (undefined when listening on TCP). */
  get socketPath(): string | undefined {
    return this.address && 'socketPath' in this.address ? this.address.socketPath : undefined;
  }

  addRule(rule: FaultRule): RuleHandle {
    const entry: Rule = {
      ...rule,
      test: endpointMatcher(rule.endpoint),
      matched: 0,
      fired: 0,
      removed: false,
    };
    this.rules.push(entry);
    return {
      get matched() {
        return entry.matched;
      },
      get fired() {
        return entry.fired;
      },
      remove: () => {
        entry.removed = true;
      },
    };
  }

  /**
   * The engine "dies" for `ms`: every open connection (streams, idle keep-alive, requests in
   * flight to the engine) is closed at once, and every new connection is closed as it arrives,
   * until the outage ends. Resolves when it has. An outage already under way is not extended.
   */
  outage(ms: number): Promise<void> {
    if (this.outageEnds) return this.outageOver();
    this.outageEnds = () => {
      this.outageEnds = undefined;
      this.changes.emit('outage-over');
    };
    for (const upstream of this.upstreams) upstream.destroy();
    for (const socket of this.sockets) socket.destroy();
    this.after(ms, () => this.outageEnds?.());
    return this.outageOver();
  }

  /** Ends the outage under way, if any, before its time. */
  endOutage(): void {
    this.outageEnds?.();
  }

  /** Resolves when no outage is under way (at once if none is). */
  outageOver(): Promise<void> {
    if (!this.outageEnds) return Promise.resolve();
    return new Promise((resolve) => this.changes.once('outage-over', resolve));
  }

  /** Requests to `endpoint` (a rule's pattern) that also satisfy `where`. */
  matching(endpoint: string, where: (request: ProxiedRequest) => boolean = () => true): ProxiedRequest[] {
    const test = endpointMatcher(endpoint);
    return this.requests.filter((r) => test(r.method, r.path) && where(r));
  }

  count(endpoint: string, where?: (request: ProxiedRequest) => boolean): number {
    return this.matching(endpoint, where).length;
  }

  /** Resolves once no request is pending; rejects after `timeoutMs`, naming what still is. */
  async whenIdle(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending().length > 0) {
      const left = deadline - Date.now();
      const pending = this.pending();
      await this.waitFor((r) => r.done && pending.includes(r), 'a pending request to end', left).catch(() => {
        throw new Error(
          `fault proxy: still pending after ${timeoutMs} ms: ${this.pending()
            .map((r) => r.endpoint)
            .join(', ')}`,
        );
      });
    }
  }

  /** Requests not yet over (answered or given up by the client, and nothing still at the engine). */
  pending(): ProxiedRequest[] {
    return this.requests.filter((r) => !r.done);
  }

  /**
   * Resolves with the first request, past or future, that satisfies `check` at any of its
   * changes; rejects after `timeoutMs` naming `what`.
   */
  waitFor(
    check: (request: ProxiedRequest) => boolean,
    what: string,
    timeoutMs = 60_000,
  ): Promise<ProxiedRequest> {
    const found = this.requests.find(check);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onChange = (record: ProxiedRequest) => {
        if (!check(record)) return;
        cleanup();
        resolve(record);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fault proxy: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.changes.off('change', onChange);
      };
      this.changes.on('change', onChange);
    });
  }

  /** Closes every connection, both sides, and stops listening; the temp dir goes too. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const handle of this.timers) clearTimeout(handle);
    this.timers.clear();
    this.outageEnds?.();
    for (const upstream of this.upstreams) upstream.destroy();
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  // ── one request ───────────────────────────────────────────────────────────────────────────────

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://docker');
    const path = url.pathname.replace(/^\/v\d+(\.\d+)?(?=\/)/, '');
    const method = req.method ?? 'GET';
    const record: ProxiedRequest = {
      seq: this.requests.length + 1,
      method,
      path,
      endpoint: `${method} ${path}`,
      query: url.searchParams,
      receivedAt: Date.now(),
      body: '',
      upstreamBody: '',
      forwarded: false,
      upstreamDone: false,
      clientGone: false,
      done: false,
    };
    this.requests.push(record);
    const exchange: Exchange = {
      record,
      req,
      res,
      socket: req.socket,
      ended: false,
      clientOver: false,
      upstreamPending: false,
    };
    res.on('close', () => {
      exchange.clientOver = true;
      if (!exchange.ended && !res.writableFinished) record.clientGone = true;
      this.changed(record);
      this.settle(exchange);
    });
    this.changed(record);

    const held = [...this.holds];
    if (held.length > 0) await Promise.all(held);
    if (this.closed || this.outageEnds) return this.reset(exchange);
    if (exchange.clientOver) return;

    // A spent rule steps aside, so that rules for one endpoint can follow each other.
    const rule = this.rules.find(
      (r) =>
        !r.removed && r.fired < (r.times ?? Infinity) && r.test(method, path) && (r.where?.(record) ?? true),
    );
    let fault: Fault | undefined;
    if (rule) {
      rule.matched += 1;
      if (rule.matched > (rule.after ?? 0)) {
        rule.fired += 1;
        fault = rule.fault;
        record.fault = fault.kind;
        rule.onFault?.(record);
        this.changed(record);
      }
    }
    this.apply(exchange, fault);
  }

  private apply(exchange: Exchange, fault: Fault | undefined): void {
    switch (fault?.kind) {
      case undefined:
        return this.forward(exchange, {});
      case 'delay-request':
        return this.after(fault.ms, () => {
          if (!exchange.clientOver) this.forward(exchange, {});
        });
      case 'delay-response':
        return this.forward(exchange, { delayResponseMs: fault.ms });
      case 'drop':
        // Read (and record) the body so that the client's write completes; then nothing.
        return this.drain(exchange);
      case 'reset':
        return this.reset(exchange);
      case 'error':
        this.drain(exchange);
        return this.answerError(exchange, fault.status, fault.message);
      case 'cut':
        return this.forward(exchange, { cut: fault });
      case 'forward-then':
        return this.forward(exchange, { then: fault.then, holdOthers: fault.holdOthers ?? false });
      case 'error-then-forward':
        return this.errorThenForward(exchange, fault);
    }
  }

  private forward(
    exchange: Exchange,
    how: {
      delayResponseMs?: number;
      cut?: { afterFrames?: number; afterBytes?: number };
      then?: Afterwards;
      holdOthers?: boolean;
    },
  ): void {
    const { record, req, res } = exchange;
    exchange.upstreamPending = true;
    let releaseHold: (() => void) | undefined;
    if (how.holdOthers) {
      const hold = new Promise<void>((resolve) => (releaseHold = resolve));
      this.holds.add(hold);
      const release = releaseHold!;
      releaseHold = () => {
        this.holds.delete(hold);
        release();
      };
    }
    const upstream = httpRequest({
      socketPath: this.upstreamSocket,
      method: req.method,
      path: req.url,
      headers: withoutHopByHop(req.headers),
      agent: false,
    });
    this.upstreams.add(upstream);
    record.forwarded = true;
    this.changed(record);
    upstream.on('close', () => {
      this.upstreams.delete(upstream);
      exchange.upstreamPending = false;
      releaseHold?.();
      this.settle(exchange);
    });
    upstream.on('error', () => {
      // The engine could not be reached, or the proxy closed this request: the client loses it too.
      if (!exchange.clientOver && !res.headersSent) this.reset(exchange);
      else if (!exchange.clientOver) this.endClient(exchange, () => exchange.socket.destroy());
    });
    // A client that gives up stops an ordinary request at the engine too, as dockerd would see
    // it; a "forward, then fail" request runs to its end, since the engine is meant to do the work.
    res.on('close', () => {
      if (!how.then && !record.upstreamDone) upstream.destroy();
    });
    this.pipeBody(exchange, upstream);

    upstream.on('response', (upstreamRes) => {
      record.upstreamStatus = upstreamRes.statusCode;
      this.changed(record);
      upstreamRes.on('error', () => {
        if (!exchange.clientOver) this.endClient(exchange, () => exchange.socket.destroy());
      });
      if (how.then) {
        const then = how.then;
        upstreamRes.on('end', () => {
          this.upstreamEnded(record);
          this.afterwards(exchange, then);
        });
        upstreamRes.on('data', (chunk: Buffer) => this.captureAnswer(record, chunk));
        return;
      }
      const relay = () => {
        if (exchange.clientOver) return void upstreamRes.destroy();
        res.writeHead(upstreamRes.statusCode ?? 502, withoutHopByHop(upstreamRes.headers));
        res.flushHeaders();
        record.answered = upstreamRes.statusCode;
        this.changed(record);
        this.relayBody(exchange, upstreamRes, how.cut);
      };
      if (how.delayResponseMs !== undefined) this.after(how.delayResponseMs, relay);
      else relay();
    });
  }

  /** The request body, streamed to the engine and its start recorded. */
  private pipeBody(exchange: Exchange, upstream: ClientRequest): void {
    const { req, record } = exchange;
    req.on('data', (chunk: Buffer) => {
      this.capture(record, chunk);
      if (!upstream.write(chunk)) req.pause();
    });
    upstream.on('drain', () => req.resume());
    req.on('end', () => upstream.end());
    req.resume();
  }

  /** The engine's response body, chunk by chunk, to the client; cut where `cut` says. */
  private relayBody(
    exchange: Exchange,
    upstreamRes: IncomingMessage,
    cut: { afterFrames?: number; afterBytes?: number } | undefined,
  ): void {
    const { res, record } = exchange;
    let frames = 0;
    let bytes = 0;
    const cutNow = () => {
      upstreamRes.destroy();
      record.fault = 'cut';
      this.endClient(exchange, () => exchange.socket.end(() => exchange.socket.destroy()));
    };
    if (cut && (cut.afterFrames === 0 || cut.afterBytes === 0)) return cutNow();
    upstreamRes.on('data', (chunk: Buffer) => {
      let end = chunk.length;
      let cutHere = false;
      if (cut?.afterFrames !== undefined) {
        for (let i = 0; i < chunk.length; i++) {
          if (chunk[i] === 0x0a && ++frames === cut.afterFrames) {
            end = i + 1;
            cutHere = true;
            break;
          }
        }
      }
      if (cut?.afterBytes !== undefined && bytes + end >= cut.afterBytes) {
        end = cut.afterBytes - bytes;
        cutHere = true;
      }
      bytes += end;
      this.captureAnswer(record, chunk.subarray(0, end));
      const more = end > 0 ? res.write(chunk.subarray(0, end)) : true;
      if (cutHere) return cutNow();
      if (!more) upstreamRes.pause();
    });
    res.on('drain', () => upstreamRes.resume());
    upstreamRes.on('end', () => {
      this.upstreamEnded(record);
      if (exchange.clientOver || exchange.ended) return;
      this.endClient(exchange, () => res.end());
    });
  }

  private afterwards(exchange: Exchange, then: Afterwards): void {
    if (exchange.clientOver) return;
    switch (then.kind) {
      case 'drop':
        return;
      case 'reset':
        return this.reset(exchange);
      case 'error':
        return this.answerError(exchange, then.status, then.message);
      case 'outage':
        return this.endClient(exchange, () => void this.outage(then.ms));
    }
  }

  private errorThenForward(exchange: Exchange, fault: Extract<Fault, { kind: 'error-then-forward' }>): void {
    const { req, record } = exchange;
    const chunks: Buffer[] = [];
    exchange.upstreamPending = true;
    req.on('data', (chunk: Buffer) => {
      this.capture(record, chunk);
      chunks.push(chunk);
    });
    req.on('end', () => {
      this.answerError(exchange, fault.status, fault.message);
      this.after(fault.afterMs, () => {
        const upstream = httpRequest({
          socketPath: this.upstreamSocket,
          method: req.method,
          path: req.url,
          headers: withoutHopByHop(req.headers),
          agent: false,
        });
        this.upstreams.add(upstream);
        record.forwarded = true;
        this.changed(record);
        upstream.on('response', (upstreamRes) => {
          record.upstreamStatus = upstreamRes.statusCode;
          upstreamRes.on('end', () => this.upstreamEnded(record));
          upstreamRes.on('data', (chunk: Buffer) => this.captureAnswer(record, chunk));
        });
        upstream.on('error', () => {});
        upstream.on('close', () => {
          this.upstreams.delete(upstream);
          exchange.upstreamPending = false;
          this.settle(exchange);
        });
        upstream.end(Buffer.concat(chunks));
      });
      // Closed before its time (the proxy's close): nothing is forwarded.
      if (this.closed) {
        exchange.upstreamPending = false;
        this.settle(exchange);
      }
    });
    req.resume();
  }

  private drain(exchange: Exchange): void {
    exchange.req.on('data', (chunk: Buffer) => this.capture(exchange.record, chunk));
    exchange.req.resume();
  }

  private answerError(exchange: Exchange, status: number, message: string): void {
    // dockerd's error body: one JSON object and a newline.
    const body = `${JSON.stringify({ message })}\n`;
    exchange.record.answered = status;
    this.endClient(exchange, () =>
      exchange.res
        .writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
        .end(body),
    );
  }

  private reset(exchange: Exchange): void {
    this.endClient(exchange, () => exchange.socket.destroy());
  }

  private endClient(exchange: Exchange, end: () => void): void {
    if (exchange.ended) return;
    exchange.ended = true;
    exchange.record.answeredAt = Date.now();
    this.changed(exchange.record);
    end();
  }

  private upstreamEnded(record: ProxiedRequest): void {
    record.upstreamDone = true;
    record.upstreamDoneAt = Date.now();
    this.changed(record);
  }

  private captureAnswer(record: ProxiedRequest, chunk: Buffer): void {
    if (record.upstreamBody.length < BODY_LIMIT)
      record.upstreamBody += chunk.toString('utf8', 0, BODY_LIMIT - record.upstreamBody.length);
  }

  private capture(record: ProxiedRequest, chunk: Buffer): void {
    if (record.body.length < BODY_LIMIT)
      record.body += chunk.toString('utf8', 0, BODY_LIMIT - record.body.length);
  }

  private settle(exchange: Exchange): void {
    if (exchange.record.done || !exchange.clientOver || exchange.upstreamPending) return;
    exchange.record.done = true;
    this.changed(exchange.record);
  }

  private changed(record: ProxiedRequest): void {
    this.changes.emit('change', record);
  }

  private after(ms: number, run: () => void): void {
    if (this.closed) return;
    const handle = setTimeout(() => {
      this.timers.delete(handle);
      if (!this.closed) run();
    }, ms);
    this.timers.add(handle);
  }
}

/** `METHOD /a/:b/*` → a test of a method and a version-less path. */
export function endpointMatcher(endpoint: string): (method: string, path: string) => boolean {
  const space = endpoint.indexOf(' ');
  const method = space < 0 ? '*' : endpoint.slice(0, space).toUpperCase();
  const pattern = space < 0 ? endpoint : endpoint.slice(space + 1);
  const source = pattern
    .split('/')
    .map((segment) =>
      segment === '*'
        ? '.*'
        : segment.startsWith(':')
          ? '[^/]+'
          : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  const regex = new RegExp(`^${source}$`);
  return (m, p) => (method === '*' || method === m.toUpperCase()) && regex.test(p);
}

function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([key]) => !HOP_BY_HOP.has(key.toLowerCase())));
}
