/**
 * Where a service's image comes from. A docker payload names an image in one of four shapes
 * (docker-worker's payload schema, now d2g's):
 *
 *   "redis:7"                                               a registry reference
 *   { "type": "docker-image",  "name": "redis:7" }          the same, spelled out
 *   { "type": "indexed-image", "namespace", "path" }        an artifact of the task an index path names
 *   { "type": "task-image",    "taskId", "path" }           an artifact of a given task
 *
 * Inside the graph every image is a local reference (what a container is created from): the
 * registry reference itself, or for an artifact a deterministic `docker-services/…` tag that the
 * load puts on the loaded image. The `ImageSource` says how to get it and when to get it again.
 */
import { createHash } from 'node:crypto';

export type PullPolicy = 'always' | 'if-not-present' | 'never';
export const PULL_POLICIES: readonly PullPolicy[] = ['always', 'if-not-present', 'never'];

/** The payload's image, decoded. */
export type ImageSpec =
  | string
  | { type: 'docker-image'; name: string }
  | { type: 'indexed-image'; namespace: string; path: string }
  | { type: 'task-image'; taskId: string; path: string };

interface SourceBase {
  /** Local reference the containers are created from. */
  ref: string;
  /**
   * When to fetch again an image that is present: `always` once per task run, `if-not-present`
   * never, `never` not even when it is missing (then the plan is blocked).
   */
  policy: PullPolicy;
}

export type ImageSource =
  | (SourceBase & { from: 'registry' })
  | (SourceBase & { from: 'task-image'; taskId: string; path: string })
  | (SourceBase & { from: 'indexed-image'; namespace: string; path: string });

export type ArtifactSource = Extract<ImageSource, { from: 'task-image' | 'indexed-image' }>;

/** Repository of the local tags of loaded artifacts; never a registry's (no dot, no port). */
export const ARTIFACT_REPOSITORY = 'docker-services';

/** A reference pinned by digest names one manifest for ever: pulling it again cannot change it. */
export function isDigestReference(ref: string): boolean {
  return ref.includes('@');
}

/**
 * The source of one payload image under the worker's pull policy. A task's artifact cannot be
 * replaced once the task has it (the queue answers 409 to a different artifact of the same name),
 * so a task image is fetched only when missing; an index path moves like a tag, so an indexed
 * image follows the policy, as a tag does.
 */
export function imageSource(image: ImageSpec, policy: PullPolicy): ImageSource {
  const once: PullPolicy = policy === 'never' ? 'never' : 'if-not-present';
  if (typeof image === 'string' || image.type === 'docker-image') {
    const ref = typeof image === 'string' ? image : image.name;
    return { from: 'registry', ref, policy: isDigestReference(ref) ? once : policy };
  }
  if (image.type === 'task-image')
    return {
      from: 'task-image',
      ref: artifactRef('task-image', `${image.taskId}/${image.path}`),
      taskId: image.taskId,
      path: image.path,
      policy: once,
    };
  return {
    from: 'indexed-image',
    ref: artifactRef('indexed-image', `${image.namespace}/${image.path}`),
    namespace: image.namespace,
    path: image.path,
    policy,
  };
}

/** `docker-services/task-image:<hash>`: a tag is at most 128 of [\w.-], a task id has capitals. */
function artifactRef(kind: 'task-image' | 'indexed-image', what: string): string {
  const digest = createHash('sha256').update(what).digest('hex').slice(0, 40);
  return `${ARTIFACT_REPOSITORY}/${kind}:${digest}`;
}

/** The local tag of the artifact `taskId`/`path` once loaded: an indexed image resolves to one. */
export function taskImageRef(taskId: string, path: string): string {
  return artifactRef('task-image', `${taskId}/${path}`);
}

/** How an image artifact is compressed: `.tar`, `.tar.zst` or `.tar.lz4`, as docker-worker accepted them. */
export type ArtifactCompression = 'none' | 'zstd' | 'lz4';

const COMPRESSION_BY_SUFFIX: readonly (readonly [string, ArtifactCompression])[] = [
  ['.tar', 'none'],
  ['.tar.zst', 'zstd'],
  ['.tar.lz4', 'lz4'],
];

/** The artifact name's suffix says how it is compressed (the queue's content type is not trusted to); undefined: none of ours. */
export function artifactCompression(path: string): ArtifactCompression | undefined {
  return COMPRESSION_BY_SUFFIX.find(([suffix]) => path.endsWith(suffix))?.[1];
}

export const ARTIFACT_SUFFIXES = COMPRESSION_BY_SUFFIX.map(([suffix]) => suffix);

/** The same suffixes as a pattern, for the JSON Schema. */
export const ARTIFACT_SUFFIX = new RegExp(
  `(?:${ARTIFACT_SUFFIXES.map((suffix) => suffix.replace(/\./g, '\\.')).join('|')})$`,
);

/** Where an image comes from, for people: `pull redis:7`, `load task-image <taskId>/<path>`. */
export function describeSource(source: ImageSource): string {
  switch (source.from) {
    case 'registry':
      return `pull ${source.ref}`;
    case 'task-image':
      return `load task-image ${source.taskId}/${source.path}`;
    case 'indexed-image':
      return `load indexed-image ${source.namespace}/${source.path}`;
  }
}

/** The registry host of a reference, as Docker resolves it (`docker.io` when none is named). */
export function registryOf(ref: string): string {
  const slash = ref.indexOf('/');
  // Stryker disable next-line EqualityOperator: at 0 the first component is empty, which names no registry either
  if (slash < 0) return 'docker.io';
  const first = ref.slice(0, slash);
  // Docker's rule: the first component is a registry when it has a dot or a port, or is localhost.
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io';
}
