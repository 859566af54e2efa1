/**
 * The `load-image` executor against a fake artifact client and a recording Docker client: what it
 * downloads (nothing for an artifact already loaded), what it tags, and how fetch failures map to
 * terminal and retryable errors whose messages name the URL path and never its query.
 */
import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { ArtifactHttpError, type ArtifactFetcher } from '../../src/actions/artifacts.js';
import type { ExecuteContext } from '../../src/actions/context.js';
import { executeLoadImage } from '../../src/actions/load-image.js';
import {
  imageSource,
  taskImageRef,
  type ArtifactSource,
  type ImageSpec,
} from '../../src/desired-state/image-source.js';
import type { DockerApi, ImageInspect } from '../../src/docker/client.js';
import type { LoadImage } from '../../src/reconciler/actions.js';
import { RetryableError, TerminalError } from '../../src/reconciler/errors.js';

const TASK = 'Zq0vH1sVRhmDw0oJxzzXtA';
const OTHER = 'fXaAmhBlTXmKjFmfd7Fh9A';
const LOADED = `sha256:${'a'.repeat(64)}`;

function loadAction(image: ImageSpec): LoadImage {
  const source = imageSource(image, 'always') as ArtifactSource;
  return {
    kind: 'load-image',
    id: `load-image:${source.ref}`,
    target: { type: 'image', name: source.ref },
    cause: 'not present locally',
    dependsOn: [],
    image: source.ref,
    source,
  };
}

/** A tarball `docker save` could have written: one image, named. */
async function tarball(): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const read = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  pack.entry(
    { name: 'manifest.json' },
    JSON.stringify([{ Config: 'c.json', RepoTags: ['x:1'], Layers: [] }]),
  );
  pack.finalize();
  await read;
  return Buffer.concat(chunks);
}

/** Docker that holds `present` images by reference, loads every tarball as `LOADED`, and records calls. */
function fakeDocker(present: Record<string, string> = {}) {
  const calls: string[] = [];
  const images = new Map(Object.entries(present));
  const docker = {
    inspectImage: (ref: string) => {
      calls.push(`inspect ${ref}`);
      const id = images.get(ref);
      return Promise.resolve(id === undefined ? undefined : ({ Id: id } as ImageInspect));
    },
    tagImage: (id: string, repo: string, tag: string) => {
      calls.push(`tag ${id} ${repo}:${tag}`);
      images.set(`${repo}:${tag}`, id);
      return Promise.resolve();
    },
    loadImage: (stream: Readable) =>
      new Promise<string[]>((resolve, reject) => {
        calls.push('load');
        stream.once('error', reject);
        stream.once('end', () => {
          images.set(LOADED, LOADED);
          resolve([LOADED]);
        });
        stream.resume();
      }),
  } as unknown as DockerApi;
  return { docker, calls };
}

function fetcher(
  download: ArtifactFetcher['download'],
  tasks: Record<string, string> = {},
): ArtifactFetcher & { downloads: string[] } {
  const downloads: string[] = [];
  return {
    downloads,
    findTask: (namespace) =>
      tasks[namespace] !== undefined
        ? Promise.resolve(tasks[namespace])
        : Promise.reject(new ArtifactHttpError(404, `http://q/api/index/v1/task/${namespace}`, '')),
    download: (taskId, name, signal) => {
      downloads.push(`${taskId}/${name}`);
      return download(taskId, name, signal);
    },
  };
}

function context(docker: DockerApi, artifacts?: ArtifactFetcher, stallMs = 60_000): ExecuteContext {
  return {
    docker,
    credentials: () => Promise.resolve({}),
    imageTimeouts: { stallMs, totalMs: 600_000 },
    ...(artifacts ? { artifacts } : {}),
  };
}

const never: ArtifactFetcher['download'] = () => new Promise(() => {});

describe('load-image', () => {
  it('downloads, loads and tags the image under its task-image reference', async () => {
    const bytes = await tarball();
    const { docker, calls } = fakeDocker();
    const artifacts = fetcher(() =>
      Promise.resolve({ body: Readable.from([bytes]), totalBytes: bytes.length }),
    );
    const action = loadAction({ type: 'task-image', taskId: TASK, path: 'public/i.tar' });
    const progress: number[] = [];
    const result = await executeLoadImage(action, {
      ...context(docker, artifacts),
      onImageProgress: (_image, p) => progress.push(p.currentBytes),
    });
    expect(result).toEqual({ imageId: LOADED });
    expect(artifacts.downloads).toEqual([`${TASK}/public/i.tar`]);
    const [repo, tag] = action.image.split(':');
    expect(calls).toEqual([
      `inspect ${action.image}`,
      'load',
      `inspect ${LOADED}`,
      `tag ${LOADED} ${repo}:${tag}`,
    ]);
    expect(progress.at(-1)).toBe(bytes.length);
  });

  it('an indexed image naming a task whose artifact is loaded is tagged, not downloaded', async () => {
    const { docker, calls } = fakeDocker({ [taskImageRef(OTHER, 'public/i.tar.zst')]: LOADED });
    const artifacts = fetcher(never, { 'proj.images.latest': OTHER });
    const action = loadAction({
      type: 'indexed-image',
      namespace: 'proj.images.latest',
      path: 'public/i.tar.zst',
    });
    const result = await executeLoadImage(action, context(docker, artifacts));
    expect(result).toEqual({ imageId: LOADED });
    expect(artifacts.downloads).toEqual([]);
    const [repo, tag] = action.image.split(':');
    expect(repo).toBe('docker-services/indexed-image');
    expect(calls.at(-1)).toBe(`tag ${LOADED} ${repo}:${tag}`);
  });

  it('a task image already loaded is done', async () => {
    const action = loadAction({ type: 'task-image', taskId: TASK, path: 'public/i.tar' });
    const { docker } = fakeDocker({ [action.image]: LOADED });
    const artifacts = fetcher(never);
    expect(await executeLoadImage(action, context(docker, artifacts))).toEqual({
      imageId: LOADED,
      alreadyDone: true,
    });
    expect(artifacts.downloads).toEqual([]);
  });

  const path = `http://q/api/queue/v1/task/${TASK}/artifacts/private/i.tar`;
  it.each([
    [404, TerminalError, 'image-not-found'],
    [403, TerminalError, 'image-download-failed'],
    [424, TerminalError, 'image-download-failed'],
    [503, RetryableError, 'retryable'],
    [429, RetryableError, 'retryable'],
  ] as const)('a queue answering %i fails (%p, %s), naming the path', async (status, type, code) => {
    const { docker } = fakeDocker();
    const artifacts = fetcher(() => Promise.reject(new ArtifactHttpError(status, path, 'because')));
    const error = await executeLoadImage(
      loadAction({ type: 'task-image', taskId: TASK, path: 'private/i.tar' }),
      context(docker, artifacts),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(type);
    if (type === TerminalError) expect((error as TerminalError).code).toBe(code);
    expect((error as Error).message).toContain(`${path} answered ${status}`);
  });

  it('an index path that names no task is image-not-found', async () => {
    const { docker } = fakeDocker();
    const error = await executeLoadImage(
      loadAction({ type: 'indexed-image', namespace: 'proj.none', path: 'public/i.tar' }),
      context(docker, fetcher(never)),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'image-not-found' });
    expect((error as Error).message).toContain('index path proj.none');
  });

  it('a download that sends nothing fails retryably after the stall timeout', async () => {
    const { docker } = fakeDocker();
    const error = await executeLoadImage(
      loadAction({ type: 'task-image', taskId: TASK, path: 'public/i.tar' }),
      context(docker, fetcher(never), 100),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toMatch(/the artifact server sent nothing for 100 ms/);
  });

  it('bytes that do not hash to what the queue announced are not loaded, and are fetched again', async () => {
    const bytes = await tarball();
    const { docker, calls } = fakeDocker();
    const wrong = createHash('sha256').update('other').digest('hex');
    const artifacts = fetcher(() => Promise.resolve({ body: Readable.from([bytes]), contentSha256: wrong }));
    const error = await executeLoadImage(
      loadAction({ type: 'task-image', taskId: TASK, path: 'public/i.tar' }),
      context(docker, artifacts),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toContain('does not hash to the sha256 the queue announced');
    expect(calls.filter((c) => c.startsWith('tag'))).toEqual([]);
  });

  it('without an artifact client it fails terminally, saying so', async () => {
    const { docker } = fakeDocker();
    await expect(
      executeLoadImage(
        loadAction({ type: 'task-image', taskId: TASK, path: 'public/i.tar' }),
        context(docker),
      ),
    ).rejects.toMatchObject({ code: 'image-download-failed' });
  });
});
