/**
 * `load-image`: make a task's image artifact present locally under the graph's local reference.
 *
 * An indexed image first resolves to a task id. The artifact of a task is loaded once per host:
 * the loaded image carries the tag `taskImageRef(taskId, path)`, and while that tag is there the
 * artifact is not downloaded again (a task's artifact cannot be replaced under its name: the queue
 * refuses a second upload with other content). Otherwise the latest run's artifact is streamed
 * from the queue, decompressed by its suffix, stripped of the image names it carries and handed
 * to `docker load` as it arrives: nothing is buffered whole, nothing touches the disk but dockerd.
 *
 * A 404 is terminal (`image-not-found`), so are a refused read, an `error` artifact, a corrupt
 * stream and a tarball that is not one image (`image-download-failed`); 5xx, 429, dropped
 * connections and a server that goes quiet for the stall timeout are retryable, and the
 * executor's retry policy (with backoff) bounds them. Messages name the URL's path, never its
 * query (a signed URL's bewit) nor credentials.
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { DockerStallError, StallWatch } from '../docker/client.js';
import {
  artifactCompression,
  describeSource,
  taskImageRef,
  type ArtifactCompression,
} from '../desired-state/image-source.js';
import type { LoadImage } from '../reconciler/actions.js';
import { RetryableError, TerminalError } from '../reconciler/errors.js';
import { ArtifactHttpError, type ArtifactFetcher } from './artifacts.js';
import { classify } from './common.js';
import type { ActionResult, ExecuteContext } from './context.js';
import { ArtifactDecodeError, decompressed, withoutImageNames } from './image-tarball.js';

export async function executeLoadImage(action: LoadImage, ctx: ExecuteContext): Promise<ActionResult> {
  const source = action.source;
  const what = describeSource(source);
  const fetcher = ctx.artifacts;
  if (!fetcher)
    throw new TerminalError(
      'image-download-failed',
      `cannot ${what}: this worker has no Taskcluster client for artifacts (fix: pass \`artifacts\` to the executor, as ServiceManager does from the configuration's rootUrl)`,
    );
  const taskId =
    source.from === 'task-image'
      ? source.taskId
      : await fetcher.findTask(source.namespace).catch((error: unknown) => {
          throw failure(what, `index path ${source.namespace}`, error);
        });
  const loadedRef = taskImageRef(taskId, source.path);
  const present = await ctx.docker.inspectImage(loadedRef).catch((error: unknown) => {
    throw classify(what, error);
  });
  let imageId = present?.Id;
  if (imageId === undefined) {
    imageId = await downloadAndLoad(fetcher, taskId, source.path, action.image, what, ctx);
    await tag(ctx, imageId, loadedRef, what);
  }
  // An indexed image is known under its index path too: that is the reference the graph uses.
  if (action.image !== loadedRef) await tag(ctx, imageId, action.image, what);
  return { imageId, ...(present !== undefined && action.image === loadedRef ? { alreadyDone: true } : {}) };
}

async function downloadAndLoad(
  fetcher: ArtifactFetcher,
  taskId: string,
  path: string,
  image: string,
  what: string,
  ctx: ExecuteContext,
): Promise<string> {
  const compression: ArtifactCompression | undefined = artifactCompression(path);
  if (compression === undefined)
    throw new TerminalError(
      'bad-spec',
      `cannot ${what}: the artifact name must end in .tar, .tar.zst or .tar.lz4`,
    );
  const artifact = `artifact ${path} of task ${taskId}`;
  const watch = new StallWatch(
    `download ${artifact}`,
    ctx.imageTimeouts?.stallMs,
    new AbortController().signal,
  );
  // The first stage to fail says why; the stages after it only fail because it did.
  let broke: unknown;
  try {
    const download = await watch.race(fetcher.download(taskId, path, watch.signal));
    const hash = createHash('sha256');
    let currentBytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, next) {
        watch.touch();
        currentBytes += chunk.length;
        hash.update(chunk);
        ctx.onImageProgress?.(image, {
          currentBytes,
          ...(download.totalBytes === undefined ? {} : { totalBytes: download.totalBytes }),
        });
        next(null, chunk);
      },
      flush(next) {
        // Every byte is in: what follows (decoding, dockerd's layer import) moves none.
        watch.stop();
        const digest = hash.digest('hex');
        if (download.contentSha256 !== undefined && digest !== download.contentSha256)
          next(new IntegrityError(`the ${artifact} does not hash to the sha256 the queue announced`));
        else next();
      },
    });
    meter.once('error', (error) => (broke ??= error));
    download.body.once('error', (error) => meter.destroy(error));
    download.body.pipe(meter);
    const tarball: Readable = withoutImageNames(decompressed(meter, compression));
    tarball.once('error', (error) => (broke ??= error));
    const loaded = await watch.race(
      ctx.docker.loadImage(tarball, {
        signal: watch.signal,
        ...(ctx.imageTimeouts ? { totalMs: ctx.imageTimeouts.totalMs } : {}),
      }),
    );
    return await loadedImageId(ctx, loaded, artifact, what);
  } catch (error) {
    if (error instanceof DockerStallError)
      throw new RetryableError(`${what}: the artifact server sent nothing for ${error.stallMs} ms`, {
        cause: error,
      });
    throw failure(what, artifact, broke ?? error);
  } finally {
    watch.stop();
  }
}

/** The one image a tarball held (names stripped, the engine reports it by id). */
async function loadedImageId(
  ctx: ExecuteContext,
  loaded: string[],
  artifact: string,
  what: string,
): Promise<string> {
  const ids = new Set<string>();
  for (const ref of loaded) {
    const inspect = await ctx.docker.inspectImage(ref).catch((error: unknown) => {
      throw classify(what, error);
    });
    if (inspect) ids.add(inspect.Id);
  }
  if (ids.size === 1) return [...ids][0]!;
  throw new TerminalError(
    'image-download-failed',
    ids.size === 0
      ? `${what}: docker load found no image in the ${artifact} (fix: publish the output of \`docker save <image>\`)`
      : `${what}: the ${artifact} holds ${ids.size} images; a service image artifact must hold one (fix: \`docker save\` a single image)`,
  );
}

async function tag(ctx: ExecuteContext, imageId: string, ref: string, what: string): Promise<void> {
  const colon = ref.lastIndexOf(':');
  await ctx.docker.tagImage(imageId, ref.slice(0, colon), ref.slice(colon + 1)).catch((error: unknown) => {
    throw classify(what, error);
  });
}

/** The bytes did not hash to what the queue announced: damaged on the way, worth fetching again. */
class IntegrityError extends Error {
  override readonly name = 'IntegrityError';
}

/** Turns a fetch, decode or load failure into the executor's terms. */
function failure(what: string, subject: string, error: unknown): RetryableError | TerminalError {
  if (error instanceof ArtifactHttpError) {
    const status = error.statusCode;
    if (status === 404)
      return new TerminalError(
        'image-not-found',
        `${what}: no such ${subject} (${error.message}; fix: check the task id, the index path and the artifact name, and that the task has published it)`,
        { cause: error },
      );
    if (status === 401 || status === 403)
      return new TerminalError(
        'image-download-failed',
        `${what}: ${error.message}: the worker's credentials may not read the ${subject} (fix: grant the worker queue:get-artifact:<name>, index:find-task:<path> for indexed images)`,
        { cause: error },
      );
    if (status >= 500 || status === 429)
      return new RetryableError(`${what}: ${error.message}`, { cause: error });
    return new TerminalError('image-download-failed', `${what}: ${error.message}`, { cause: error });
  }
  if (error instanceof ArtifactDecodeError)
    return new TerminalError('image-download-failed', `${what}: the ${subject}: ${error.message}`, {
      cause: error,
    });
  if (error instanceof IntegrityError)
    return new RetryableError(`${what}: ${error.message}`, { cause: error });
  if (error instanceof TerminalError || error instanceof RetryableError) return error;
  // fetch's own failures (`fetch failed`, connection refused or reset) carry the reason in `cause`.
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const reason = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  if (error instanceof TypeError || (error as { name?: unknown } | null)?.name === 'AbortError')
    return new RetryableError(`${what}: the download of the ${subject} failed${reason}`);
  return classify(what, error);
}
