/** docker-services: the public surface that docker-worker embeds. */
export * from './desired-state/types.js';
export { Label, LABEL_NAMESPACE } from './desired-state/labels.js';
export type * from './observed-state/types.js';
export type * from './reconciler/actions.js';
export { dockerApi, DockerApiError, DockerTimeoutError, type DockerApi } from './docker/client.js';

// The library docker-worker embeds.
export { ServiceManager, type ServiceManagerOptions, type StartTask } from './library/manager.js';
export {
  ServiceSession,
  type SessionState,
  type SessionFailure,
  type StopResult,
} from './library/session.js';
export {
  ServiceStartError,
  describeReason,
  type StartFailureReason,
  type StartFailureKind,
  type ServiceStartErrorDetails,
} from './library/errors.js';
export type { ServiceEvent, ServiceEventType, ServicePhase, ServiceRole } from './library/phases.js';
export { REDACTED, DEFAULT_MAX_LOG_BYTES } from './library/logs.js';
export type { CollectedTask } from './library/runtime.js';
export {
  WorkerConfig,
  decodeWorkerConfig,
  defaultWorkerConfig,
  DEFAULT_LIMITS,
  DEFAULT_RESTART,
  type WorkerConfigInput,
  type LimitsConfig,
  type RestartConfig,
  type ProxyConfig,
} from './desired-state/config.js';
export { PayloadValidationError, ConfigError, type PayloadError } from './desired-state/errors.js';
export type { TaskContainerOptions } from './desired-state/task-container.js';
export { WorkerCredentials, CredentialsPushError, type PushResult } from './credentials/index.js';
export { ReconcileError, TerminalError, RetryableError } from './reconciler/errors.js';
