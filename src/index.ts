/**
 * docker-services: what docker-worker embeds (README, "Embedding in docker-worker"). The manager
 * and its sessions, the errors they throw, the worker configuration's decoding, the narrow Docker
 * client, and the events and failures a session reports. The graph, snapshot and plan types that
 * the CLI's JSON output shows are in `docker-services/types` (src/types.ts).
 */
export { ServiceManager, type ServiceManagerOptions, type StartTask } from './library/manager.js';
export {
  ServiceSession,
  type SessionState,
  type SessionFailure,
  type StopResult,
} from './library/session.js';
export type { ServiceEvent, ServiceEventType, ServicePhase, ServiceRole } from './library/phases.js';
export type { ServiceInfo } from './library/service-info.js';
export type { CollectedTask } from './library/runtime.js';
export type { TaskContainerOptions } from './desired-state/task-container.js';

export {
  ServiceStartError,
  describeReason,
  type StartFailureReason,
  type StartFailureKind,
  type ServiceStartErrorDetails,
} from './library/errors.js';
export { PayloadValidationError, ConfigError, type PayloadError } from './desired-state/errors.js';
export { ReconcileError } from './reconciler/errors.js';
export { IsolationGuardError } from './host/isolation-guard.js';
export {
  WorkerCredentials,
  CredentialsError,
  CredentialsPushError,
  type PushResult,
} from './credentials/index.js';

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
export {
  dockerApi,
  DockerApiError,
  DockerTimeoutError,
  DockerUnreachableError,
  type DockerApi,
} from './docker/client.js';
