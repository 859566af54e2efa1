/**
 * Every label key docker-services writes or reads lives here, in one namespace.
 * An object is ours only when its name follows our naming *and* its labels say so (see
 * `src/observed-state`); an image that carries this namespace is refused, because containers
 * inherit their image's labels and could otherwise pose as ours.
 */
export const LABEL_NAMESPACE = 'org.taskcluster.docker-services.';

export const Label = {
  /** The worker (owner) that created the object; GC never touches another owner's objects. */
  owner: `${LABEL_NAMESPACE}owner`,
  taskId: `${LABEL_NAMESPACE}task-id`,
  runId: `${LABEL_NAMESPACE}run-id`,
  /** Stable graph node id, e.g. `container/service/db`. */
  node: `${LABEL_NAMESPACE}node`,
  /** `service` | `proxy` | `task-network` | `service-network`. */
  role: `${LABEL_NAMESPACE}role`,
  /** The service name (for service and proxy containers and private networks). */
  service: `${LABEL_NAMESPACE}service`,
  specHash: `${LABEL_NAMESPACE}spec-hash`,
  hashVersion: `${LABEL_NAMESPACE}hash-version`,
} as const;

export type LabelKey = (typeof Label)[keyof typeof Label];

/** Name prefix of every object we create: `ds-<taskId>-<runId>[-…]`. */
export const NAME_PREFIX = 'ds-';
