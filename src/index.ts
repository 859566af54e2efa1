/** docker-services: the public surface that docker-worker embeds. */
export * from './desired-state/types.js';
export { Label, LABEL_NAMESPACE } from './desired-state/labels.js';
export type * from './observed-state/types.js';
export type * from './reconciler/actions.js';
export { dockerApi, DockerApiError, DockerTimeoutError, type DockerApi } from './docker/client.js';
