/**
 * The worker's configuration of docker-services: who the worker is (the owner of everything it
 * creates), which proxy image serves credentials, and the limits a task's services must fit in.
 * Decoded once at the door; everything inside works with the plain `WorkerConfig`.
 */
import * as t from 'io-ts';
import { checked, isPlainObject, markSecret, strictStruct, toPayloadErrors, withDefault } from './codec.js';
import { ConfigError, renderValue } from './errors.js';
import { imageReferenceProblems } from './reference.js';
import { PULL_POLICIES, type PullPolicy } from './image-source.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** The kernel refuses a single argv/env string of MAX_ARG_STRLEN (32 pages = 128 KiB) or more. */
export const MAX_ARG_STRLEN = 128 * KiB;

function isString(u: unknown): u is string {
  // Stryker disable next-line ConditionalExpression: a `checked` guard, consulted only once its problems function found none, which refuses every other value itself
  return typeof u === 'string';
}

function isNumber(u: unknown): u is number {
  // Stryker disable next-line ConditionalExpression: a `checked` guard, consulted only once its problems function found none, which refuses every other value itself
  return typeof u === 'number';
}

function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER): t.Type<number, number, unknown> {
  return checked(name, isNumber, (u) =>
    typeof u === 'number' && Number.isInteger(u) && u >= min && u <= max
      ? []
      : [`must be an integer from ${min} to ${max}; got ${renderValue(u)}`],
  );
}

/** Taskcluster's identifier pattern for provisionerId and workerType. */
const TC_IDENTIFIER = /^[a-zA-Z0-9-_]{1,38}$/;

function identifier(name: string): t.Type<string, string, unknown> {
  return checked(name, isString, (u) =>
    typeof u === 'string' && TC_IDENTIFIER.test(u)
      ? []
      : [`must be a Taskcluster identifier (1–38 of a-z, A-Z, 0-9, '-', '_'); got ${renderValue(u)}`],
  );
}

// Labels carry the owner id and GC selects by it: it must be a plain, printable token.
const OwnerId = checked('OwnerId', isString, (u) =>
  typeof u === 'string' && /^[\x21-\x7e]{1,256}$/.test(u)
    ? []
    : [`must be 1–256 printable characters without spaces (the worker's id); got ${renderValue(u)}`],
);

const RootUrl = checked('RootUrl', isString, (u) => {
  if (typeof u === 'string' && /^https?:\/\/[^\s]+$/.test(u)) {
    try {
      new URL(u);
      return [];
    } catch {
      // reported below
    }
  }
  return [`must be the deployment's http(s) root URL, e.g. "https://tc.example.com"; got ${renderValue(u)}`];
});

const ImageReference = checked('ImageReference', isString, (u) => {
  if (typeof u !== 'string') return [`must be an image reference string; got ${renderValue(u)}`];
  const problems = imageReferenceProblems(u);
  return problems.length === 0 ? [] : [`${renderValue(u)} is not an image reference: ${problems.join('; ')}`];
});

/**
 * The port a service's proxy listens on, on 127.0.0.1 inside the network namespace it shares with
 * its service (`TASKCLUSTER_PROXY_URL` says which). Not 80, taskcluster-proxy's usual port: the
 * service shares that namespace and may itself listen on 80, as many HTTP services do; the two
 * cannot both bind it. 61080 is above Linux's ephemeral range (32768–60999, per namespace), so no
 * outgoing connection of the service can hold it, and no common server defaults to it.
 */
export const DEFAULT_PROXY_PORT = 61080;

const ProxyPort = integer('ProxyPort', 1, 65535);

export const ProxyConfig = strictStruct(
  'ProxyConfig',
  { image: ImageReference, port: withDefault(ProxyPort, DEFAULT_PROXY_PORT) },
  {},
  {
    describe: 'an object with image (and port)',
    hints: {
      image: 'the proxy image reference, e.g. "ds-fixtures/proxy:latest"',
      port: `the proxy's port on its service's loopback (default ${DEFAULT_PROXY_PORT}; pick one no service image listens on)`,
    },
  },
);
export type ProxyConfig = t.TypeOf<typeof ProxyConfig>;

export const DEFAULT_LIMITS = {
  maxServices: 16,
  maxEnvEntries: 64,
  maxEnvBytes: 64 * KiB,
  maxValueBytes: 32 * KiB,
  memoryBytes: 1 * GiB,
  pidsLimit: 1024,
  logMaxBytes: 10 * MiB,
} as const;

export const LimitsConfig = strictStruct(
  'LimitsConfig',
  {
    maxServices: withDefault(integer('maxServices', 0, 1000), DEFAULT_LIMITS.maxServices),
    maxEnvEntries: withDefault(integer('maxEnvEntries', 0, 10_000), DEFAULT_LIMITS.maxEnvEntries),
    maxEnvBytes: withDefault(integer('maxEnvBytes', 0, 16 * MiB), DEFAULT_LIMITS.maxEnvBytes),
    maxValueBytes: withDefault(integer('maxValueBytes', 1, MAX_ARG_STRLEN - 1), DEFAULT_LIMITS.maxValueBytes),
    // Docker refuses a memory limit under 6 MiB.
    memoryBytes: withDefault(integer('memoryBytes', 6 * MiB), DEFAULT_LIMITS.memoryBytes),
    pidsLimit: withDefault(integer('pidsLimit', 16, 1_000_000), DEFAULT_LIMITS.pidsLimit),
    logMaxBytes: withDefault(integer('logMaxBytes', 64 * KiB), DEFAULT_LIMITS.logMaxBytes),
  },
  {},
  { describe: 'an object of limits', hints: {} },
);
export type LimitsConfig = t.TypeOf<typeof LimitsConfig>;

export const DEFAULT_RESTART = {
  mode: 'restart',
  initialBackoffMs: 1000,
  maxBackoffMs: 30_000,
  maxRestarts: 5,
  resetAfterMs: 600_000,
} as const;

const RestartMode = checked(
  'RestartMode',
  // Stryker disable next-line all: a `checked` guard, consulted only once its problems function found none, which refuses every other value itself
  (u): u is 'restart' | 'fail' => u === 'restart' || u === 'fail',
  (u) =>
    u === 'restart' || u === 'fail'
      ? []
      : [
          `must be "restart" (restart a died service with backoff) or "fail" (fail the task); got ${renderValue(u)}`,
        ],
);

export const RestartConfig = strictStruct(
  'RestartConfig',
  {
    mode: withDefault(RestartMode, DEFAULT_RESTART.mode),
    initialBackoffMs: withDefault(integer('initialBackoffMs', 0), DEFAULT_RESTART.initialBackoffMs),
    maxBackoffMs: withDefault(integer('maxBackoffMs', 0), DEFAULT_RESTART.maxBackoffMs),
    maxRestarts: withDefault(integer('maxRestarts', 0), DEFAULT_RESTART.maxRestarts),
    // A service that ran this long before it exited (or went unhealthy) gets its budget back.
    resetAfterMs: withDefault(integer('resetAfterMs', 0), DEFAULT_RESTART.resetAfterMs),
  },
  {},
  {
    describe: 'an object with mode, initialBackoffMs, maxBackoffMs, maxRestarts and resetAfterMs',
    hints: {},
  },
);
export type RestartConfig = t.TypeOf<typeof RestartConfig>;

const IsolationGuardMode = checked(
  'IsolationGuardMode',
  // Stryker disable next-line all: a `checked` guard, consulted only once its problems function found none, which refuses every other value itself
  (u): u is 'off' | 'nftables' => u === 'off' || u === 'nftables',
  (u) =>
    u === 'off' || u === 'nftables'
      ? []
      : [
          `must be "off" (Docker's own rules only) or "nftables" (also drop traffic between our networks and other bridges in a table of our own; needs nft and root); got ${renderValue(u)}`,
        ],
);

const PullPolicyCodec = checked(
  'PullPolicy',
  (u): u is PullPolicy => PULL_POLICIES.includes(u as PullPolicy),
  (u) =>
    PULL_POLICIES.includes(u as PullPolicy)
      ? []
      : [
          `must be "always" (a tag is pulled on every start, a digest when missing), "if-not-present" or "never"; got ${renderValue(u)}`,
        ],
);

export const DEFAULT_IMAGES = {
  pullPolicy: 'always',
  /** A pull or download that moves no byte for this long has failed. */
  stallTimeoutMs: 60_000,
  /** Whatever progress it makes, a pull or download ends by then. */
  timeoutMs: 30 * 60_000,
} as const;

export const ImagesConfig = strictStruct(
  'ImagesConfig',
  {
    pullPolicy: withDefault(PullPolicyCodec, DEFAULT_IMAGES.pullPolicy),
    stallTimeoutMs: withDefault(integer('stallTimeoutMs', 100), DEFAULT_IMAGES.stallTimeoutMs),
    timeoutMs: withDefault(integer('timeoutMs', 1000), DEFAULT_IMAGES.timeoutMs),
  },
  {},
  { describe: 'an object with pullPolicy, stallTimeoutMs and timeoutMs', hints: {} },
);
export type ImagesConfig = t.TypeOf<typeof ImagesConfig>;

const NonEmpty = (name: string) =>
  checked(name, isString, (u) =>
    typeof u === 'string' && u.length > 0 && u.length <= 4096 ? [] : [`must be a non-empty string`],
  );

/** One registry's login; the password is a secret (its errors never show it). */
const RegistryLogin = markSecret(
  strictStruct(
    'RegistryLogin',
    { username: NonEmpty('username'), password: NonEmpty('password') },
    {},
    {
      describe: 'an object with username and password',
      hints: { username: 'the login', password: 'its password' },
    },
  ),
);
export type RegistryLogin = t.TypeOf<typeof RegistryLogin>;

// A registry host as Docker names it in a reference: a DNS name or IP literal with an optional port.
const REGISTRY_HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;

/** `registries`: per registry host (`registry.example.com`, `127.0.0.1:5000`), its login. */
export const RegistriesConfig = new t.Type<Record<string, RegistryLogin>, unknown, unknown>(
  'RegistriesConfig',
  (u): u is Record<string, RegistryLogin> => isPlainObject(u),
  (u, c) => {
    if (!isPlainObject(u))
      return t.failure(
        u,
        c,
        `must be an object mapping registry hosts to {username, password}; got ${renderValue(u)}`,
      );
    const errors: t.ValidationError[] = [];
    const out: Record<string, RegistryLogin> = {};
    for (const host of Object.keys(u)) {
      const value = u[host];
      if (!REGISTRY_HOST.test(host))
        // In the login's own context, so that the report never shows the password.
        errors.push({
          value,
          context: t.appendContext(c, host, RegistryLogin, value),
          message:
            'is not a registry host (fix: the host as images name it, e.g. "registry.example.com" or "127.0.0.1:5000")',
        });
      const login = RegistryLogin.validate(value, t.appendContext(c, host, RegistryLogin, value));
      if (login._tag === 'Left') errors.push(...login.left);
      else out[host] = login.right;
    }
    return errors.length > 0 ? t.failures(errors) : t.success(out);
  },
  t.identity,
);

export const WorkerConfig = strictStruct(
  'WorkerConfig',
  {
    ownerId: OwnerId,
    provisionerId: identifier('provisionerId'),
    workerType: identifier('workerType'),
    rootUrl: RootUrl,
    proxy: ProxyConfig,
    limits: withDefault(LimitsConfig, { ...DEFAULT_LIMITS }),
    restart: withDefault(RestartConfig, { ...DEFAULT_RESTART }),
    startupTimeoutMs: withDefault(integer('startupTimeoutMs', 1), 120_000),
    concurrency: withDefault(integer('concurrency', 1, 1000), 8),
    // Off by default: it changes the host's packet filter, which a worker owner opts into.
    isolationGuard: withDefault(IsolationGuardMode, 'off'),
    images: withDefault(ImagesConfig, { ...DEFAULT_IMAGES }),
    registries: withDefault(RegistriesConfig, {}),
  },
  {},
  {
    describe: 'an object (the worker configuration)',
    hints: {
      ownerId: "the worker's id, e.g. its workerGroup/workerId",
      provisionerId: 'the worker pool\'s provisionerId, e.g. "proj-ci"',
      workerType: 'the worker pool\'s workerType, e.g. "linux"',
      rootUrl: 'the deployment root URL, e.g. "https://tc.example.com"',
      proxy: 'an object with the proxy image, e.g. { "image": "ds-fixtures/proxy:latest" }',
    },
  },
);
export type WorkerConfig = t.TypeOf<typeof WorkerConfig>;

/** Throws a `ConfigError` listing every problem, each with its path, value and what would be valid. */
export function decodeWorkerConfig(input: unknown): WorkerConfig {
  const result = WorkerConfig.decode(input);
  if (result._tag === 'Left') throw new ConfigError(toPayloadErrors(result.left, 'config'));
  const config = result.right;
  if (config.restart.maxBackoffMs < config.restart.initialBackoffMs) {
    throw new ConfigError([
      {
        path: 'restart.maxBackoffMs',
        value: renderValue(config.restart.maxBackoffMs),
        message: `must be at least restart.initialBackoffMs (${config.restart.initialBackoffMs}); got ${config.restart.maxBackoffMs}`,
      },
    ]);
  }
  return config;
}

/** What a caller must say; everything else has a default. */
export interface WorkerConfigInput {
  ownerId: string;
  provisionerId: string;
  workerType: string;
  rootUrl: string;
  proxy: { image: string; port?: number };
  limits?: Partial<LimitsConfig>;
  restart?: Partial<RestartConfig>;
  startupTimeoutMs?: number;
  concurrency?: number;
  isolationGuard?: 'off' | 'nftables';
  images?: Partial<ImagesConfig>;
  registries?: Record<string, RegistryLogin>;
}

/** A full configuration from identity and proxy image, defaults for the rest; validated. */
export function defaultWorkerConfig(input: WorkerConfigInput): WorkerConfig {
  return decodeWorkerConfig(input);
}
