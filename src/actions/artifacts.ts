/**
 * What loading a task's image artifact needs from Taskcluster: the index's `findTask` for an
 * indexed image, and the artifact's bytes from the queue. The library builds one from
 * taskcluster-client with the worker's credentials (`taskclusterArtifacts`); tests point it at a
 * local server through `rootUrl`.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import taskcluster from 'taskcluster-client';
import type { WorkerCredentials } from '../credentials/proxy-credentials.js';

export interface ArtifactDownload {
  /** The artifact's bytes, as they arrive. */
  body: Readable;
  /** `Content-Length`, when the server sent one. */
  totalBytes?: number;
  /** The queue's `x-taskcluster-location-content-sha256`, when it sent one: the bytes must hash to it. */
  contentSha256?: string;
}

export interface ArtifactFetcher {
  /** The task id an index path names now. */
  findTask(namespace: string): Promise<string>;
  /** The latest run's artifact `name` of `taskId`, following the queue's redirect. */
  download(taskId: string, name: string, signal: AbortSignal): Promise<ArtifactDownload>;
}

/**
 * The index or the queue (or the storage it redirected to) answered with an HTTP error. `path` is
 * the URL's path only: a signed URL's query holds a bewit, a storage URL's a signature.
 */
export class ArtifactHttpError extends Error {
  override readonly name = 'ArtifactHttpError';
  constructor(
    readonly statusCode: number,
    readonly path: string,
    detail: string,
  ) {
    super(`${path} answered ${statusCode}${detail ? `: ${detail}` : ''}`);
  }
}

export interface TaskclusterArtifactsOptions {
  rootUrl: string;
  /** The worker's credentials now (they rotate); without any, only public artifacts can be read. */
  credentials: () => WorkerCredentials | undefined;
}

/** Redirects followed after the queue's: storage may redirect once more (a CDN), never in circles. */
const MAX_REDIRECTS = 5;

/**
 * The fetcher of a real worker. Downloads go through the queue's `getLatestArtifact` as a signed
 * URL fetched without following redirects (the queue's own advice to clients): the queue answers
 * 303 to where the bytes are for every storage type it serves (`s3`, `object`, `reference`), and
 * 4xx with a reason for an `error` artifact. Neither call is retried here: 5xx and dropped
 * connections go back to the executor, whose retry policy (with backoff) is the one retry loop.
 */
export function taskclusterArtifacts(options: TaskclusterArtifactsOptions): ArtifactFetcher {
  const client = (kind: 'Index' | 'Queue') => {
    const credentials = options.credentials();
    return new taskcluster[kind]({
      rootUrl: options.rootUrl,
      retries: 0,
      ...(credentials ? { credentials } : {}),
    }) as TaskclusterClient;
  };
  return {
    async findTask(namespace) {
      const index = client('Index');
      try {
        const found = (await index.findTask(namespace)) as { taskId?: unknown } | undefined;
        if (typeof found?.taskId !== 'string') throw new Error('the index answered without a taskId');
        return found.taskId;
      } catch (error) {
        const status = (error as { statusCode?: unknown }).statusCode;
        if (typeof status === 'number')
          throw new ArtifactHttpError(status, pathOf(index.buildUrl(index.findTask, namespace)), '');
        throw error;
      }
    },
    async download(taskId, name, signal) {
      const queue = client('Queue');
      const url = options.credentials()
        ? await queue.buildSignedUrl(queue.getLatestArtifact, taskId, name)
        : queue.buildUrl(queue.getLatestArtifact, taskId, name);
      let response = await fetch(url, { redirect: 'manual', signal });
      const contentSha256 = response.headers.get('x-taskcluster-location-content-sha256') ?? undefined;
      let where = url;
      for (let hop = 0; isRedirect(response.status); hop++) {
        const location = response.headers.get('location');
        if (location === null || hop === MAX_REDIRECTS)
          throw new ArtifactHttpError(response.status, pathOf(where), 'a redirect that leads nowhere');
        await response.body?.cancel();
        where = new URL(location, where).toString();
        response = await fetch(where, { redirect: 'manual', signal });
      }
      if (!response.ok || response.body === null) {
        const detail = await reasonOf(response);
        throw new ArtifactHttpError(response.status, pathOf(where), detail);
      }
      const length = Number(response.headers.get('content-length') ?? Number.NaN);
      return {
        body: Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
        ...(Number.isSafeInteger(length) ? { totalBytes: length } : {}),
        ...(contentSha256 ? { contentSha256 } : {}),
      };
    },
  };
}

interface TaskclusterClient {
  [method: string]: unknown;
  findTask: (namespace: string) => Promise<unknown>;
  getLatestArtifact: unknown;
  buildUrl: (method: unknown, ...args: string[]) => string;
  buildSignedUrl: (method: unknown, ...args: string[]) => Promise<string> | string;
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400 && status !== 304;
}

/** The URL's path, never its query (signatures) nor its user info; the host is the configured rootUrl's or storage's. */
export function pathOf(url: string): string {
  try {
    // taskcluster-client escapes the artifact name's slashes: shown as people wrote it.
    return decodeURIComponent(new URL(url).pathname);
  } catch {
    return '(unparsable URL)';
  }
}

/** The Taskcluster error body's `message`, first line, bounded; storage's XML is left out. */
async function reasonOf(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const message = (JSON.parse(text) as { message?: unknown }).message;
    return typeof message === 'string' ? message.split('\n')[0]!.slice(0, 300) : '';
  } catch {
    return '';
  }
}
