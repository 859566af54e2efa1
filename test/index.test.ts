/**
 * The package's two entry points hold what they promise and no more: `.` what docker-worker calls
 * and receives, `./types` the data the CLI's JSON output shows. A name added to or dropped from
 * either is a change of the published surface, to be made here on purpose.
 */
import { describe, expect, it } from '@jest/globals';
import * as library from '../src/index.js';
import type {
  ServiceEvent,
  ServiceManagerOptions,
  ServiceSession,
  ServiceStartError,
  StartTask,
} from '../src/index.js';
import * as types from '../src/types.js';
import type { Action, DesiredState, Plan, Snapshot } from '../src/types.js';

// The names the README's embedding example and the CLI's JSON output use: a type error, caught by
// `npm run typecheck`, when one is no longer exported where it is documented.
type _Embedding = [
  ServiceManagerOptions,
  StartTask,
  ServiceSession['events$'],
  ServiceStartError['reason'],
  ServiceEvent,
];
type _Data = [DesiredState, Snapshot, Plan, Action];

describe('entry points', () => {
  it('. is the manager, the session, their errors, config decoding and the Docker client', () => {
    expect(Object.keys(library).sort()).toEqual([
      'ConfigError',
      'CredentialsError',
      'CredentialsPushError',
      'DEFAULT_LIMITS',
      'DEFAULT_RESTART',
      'DockerApiError',
      'DockerTimeoutError',
      'DockerUnreachableError',
      'IsolationGuardError',
      'PayloadValidationError',
      'ReconcileError',
      'ServiceManager',
      'ServiceSession',
      'ServiceStartError',
      'WorkerConfig',
      'WorkerCredentials',
      'decodeWorkerConfig',
      'defaultWorkerConfig',
      'describeReason',
      'dockerApi',
    ]);
  });

  it('./types is types only, and the label keys', () => {
    expect(Object.keys(types).sort()).toEqual(['LABEL_NAMESPACE', 'Label']);
  });
});
