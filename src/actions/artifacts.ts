/**
 * What loading a task's image artifact needs from Taskcluster: the index's `findTask` for an
 * indexed image, and the artifact's bytes from the queue. The library builds one from
 * taskcluster-client with the worker's credentials; tests point it at a local server.
 */
import type { Readable } from 'node:stream';

export interface ArtifactDownload {
  /** The artifact's bytes, as they arrive. */
  body: Readable;
  /** `Content-Length`, when the server sent one. */
  totalBytes?: number;
}

export interface ArtifactFetcher {
  /** The task id an index path names now. */
  findTask(namespace: string): Promise<string>;
  /** The latest run's artifact `name` of `taskId`, following the queue's redirect. */
  download(taskId: string, name: string, signal: AbortSignal): Promise<ArtifactDownload>;
}
