/**
 * A Taskcluster queue and index on 127.0.0.1, for the artifact tests: the subset taskcluster-client
 * calls to load an image artifact, at the paths it builds from `rootUrl`.
 *
 *   GET /api/index/v1/task/<namespace>                 `index.findTask`: {namespace, taskId, rank, data, expires}, or 404
 *   GET /api/queue/v1/task/<taskId>/artifacts/<name>   `queue.getLatestArtifact`: 303 to the storage URL (as the
 *                                                      queue answers for s3 and object artifacts), with
 *                                                      `x-taskcluster-location-content-sha256`; 404 when unknown
 *   GET /storage/<taskId>/<name>?signature=…           the bytes, with their Content-Length
 *
 * A private artifact (a name not under `public/`) is refused (403) without a signed URL (`bewit`);
 * the signature itself is not checked. It counts downloads, and can be told to answer 5xx a few
 * times or to stall a download (accept, then send nothing; or send the headers, then nothing).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { dockerode } from './docker.js';
import { slugid } from './slugid.js';

export type StallMode = 'nothing' | 'headers';

export interface FakeQueue {
  /** `http://127.0.0.1:<port>`, the `rootUrl` taskcluster-client is given. */
  rootUrl: string;
  /** Publishes `bytes` as artifact `name` of a new task (or of `taskId`); resolves with the task id. */
  publish(name: string, bytes: Buffer, taskId?: string): string;
  /** Makes `namespace` name `taskId` in the index. */
  index(namespace: string, taskId: string): void;
  /** Downloads of the bytes of `taskId`'s `name` that began. */
  downloads(taskId: string, name: string): number;
  /** Requests to the queue's artifact endpoint, answered or not. */
  queueRequests(): number;
  /** The next `count` queue requests answer `status` (a 5xx). */
  failNext(count: number, status?: number): void;
  /** From now on every download of bytes stalls in `mode` (undefined: stalls no more). */
  stall(mode: StallMode | undefined): void;
  /** URLs requested (path and query), in order. */
  requested(): string[];
  close(): Promise<void>;
}

const QUEUE_ARTIFACT = /^\/api\/queue\/v1\/task\/([^/]+)\/artifacts\/(.+)$/;
const INDEX_FIND = /^\/api\/index\/v1\/task\/([^/]+)$/;
const STORAGE = /^\/storage\/([^/]+)\/(.+)$/;

export async function startFakeQueue(): Promise<FakeQueue> {
  const artifacts = new Map<string, Buffer>();
  const indexed = new Map<string, string>();
  const downloadCounts = new Map<string, number>();
  const requested: string[] = [];
  const sockets = new Set<Socket>();
  let queueRequests = 0;
  let failures: { count: number; status: number } = { count: 0, status: 503 };
  let stallMode: StallMode | undefined;

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  };
  const notFound = (res: ServerResponse, what: string) =>
    json(res, 404, { code: 'ResourceNotFound', message: `${what} not found\n----\nstatusCode: 404` });

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname);
    requested.push(`${url.pathname}${url.search}`);
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && (m = INDEX_FIND.exec(path))) {
      const taskId = indexed.get(m[1]!);
      if (taskId === undefined) return notFound(res, `Indexed task ${m[1]}`);
      return json(res, 200, {
        namespace: m[1],
        taskId,
        rank: 0,
        data: {},
        expires: new Date(Date.now() + 86_400_000).toISOString(),
      });
    }
    if (req.method === 'GET' && (m = QUEUE_ARTIFACT.exec(path))) {
      queueRequests++;
      if (failures.count > 0) {
        failures.count--;
        return json(res, failures.status, { code: 'InternalServerError', message: 'try again' });
      }
      const [taskId, name] = [m[1]!, m[2]!];
      const bytes = artifacts.get(`${taskId}/${name}`);
      if (bytes === undefined) return notFound(res, `Artifact ${name} of task ${taskId}`);
      if (!name.startsWith('public/') && !url.searchParams.has('bewit'))
        return json(res, 403, { code: 'InsufficientScopes', message: `needs queue:get-artifact:${name}` });
      const location = `/storage/${taskId}/${encodeURI(name)}?signature=${slugid()}`;
      return json(
        res,
        303,
        { storageType: 's3', url: location },
        {
          location,
          'x-taskcluster-artifact-storage-type': 's3',
          'x-taskcluster-location-content-sha256': createHash('sha256').update(bytes).digest('hex'),
        },
      );
    }
    if (req.method === 'GET' && (m = STORAGE.exec(path))) {
      const key = `${m[1]!}/${m[2]!}`;
      const bytes = artifacts.get(key);
      if (bytes === undefined) return notFound(res, key);
      downloadCounts.set(key, (downloadCounts.get(key) ?? 0) + 1);
      if (stallMode === 'nothing') return; // accepted; never answered
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(bytes.length),
      });
      if (stallMode === 'headers') return res.flushHeaders();
      return res.end(bytes);
    }
    return notFound(res, path);
  };

  const server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    rootUrl: `http://127.0.0.1:${port}`,
    publish(name, bytes, taskId = slugid()) {
      artifacts.set(`${taskId}/${name}`, bytes);
      return taskId;
    },
    index(namespace, taskId) {
      indexed.set(namespace, taskId);
    },
    downloads: (taskId, name) => downloadCounts.get(`${taskId}/${name}`) ?? 0,
    queueRequests: () => queueRequests,
    failNext(count, status = 503) {
      failures = { count, status };
    },
    stall(mode) {
      stallMode = mode;
    },
    requested: () => [...requested],
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `docker save` of `ref`, whole (fixture images are a few MB). */
export async function dockerSave(ref: string): Promise<Buffer> {
  const stream = (await dockerode().getImage(ref).get()) as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `bytes` compressed by Debian's `zstd` or `lz4`, as a task would publish them. */
export async function compress(bytes: Buffer, how: 'zstd' | 'lz4'): Promise<Buffer> {
  const child = spawn(how, ['-c', '-q'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdin.end(bytes);
  const code = await exited;
  if (code !== 0) throw new Error(`${how} exited ${code}`);
  return Buffer.concat(chunks);
}
