/**
 * The part of a docker-worker payload that is ours: `payload.services`. Every other payload key
 * (image, command, maxRunTime, …) belongs to docker-worker and is ignored here.
 *
 * Policy is an allow-list: a service has a name, an image, a command (Docker `Cmd`, never the
 * entrypoint), an environment and a health check. There is no field for privileged mode,
 * capabilities, devices, mounts, ports, network mode, restart policy, entrypoint, labels, names
 * or links, and any field not listed is an error rather than silently dropped.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import {
  checked,
  failureAt,
  failureHere,
  isPlainObject,
  markSecret,
  own,
  strictStruct,
  toPayloadErrors,
} from './codec.js';
import { DEFAULT_LIMITS, type LimitsConfig, type WorkerConfig } from './config.js';
import { PayloadValidationError, aTypeOf, renderValue } from './errors.js';
import {
  INJECTED_ENV_NAMES,
  LOADER_HIJACK_ENV_NAMES,
  LOADER_HIJACK_ENV_PREFIXES,
  MAX_COMMAND_ARGS,
  MAX_HEALTH_RETRIES,
  MAX_HEALTH_SECONDS,
  MIN_HEALTH_PROBE_SECONDS,
  POSIX_ENV_NAME,
  RESERVED_ENV_PREFIX,
  RESERVED_SERVICE_NAMES,
  SERVICE_NAME,
  ARTIFACT_NAME,
  MAX_ARTIFACT_NAME_CHARS,
  INDEX_NAMESPACE,
  MAX_INDEX_NAMESPACE_CHARS,
} from './policy.js';
import { imageReferenceProblems } from './reference.js';
import { ARTIFACT_SUFFIXES, artifactCompression, type ImageSpec } from './image-source.js';
import { isTaskId } from './names.js';

const SERVICE_FIELDS = 'name, image and optional command, env, healthCheck';

// Type guards for io-ts's `is`. Each `checked` codec's problems function refuses a wrong type by
// itself, and argumentList's `is` is never called (decoding goes through `validate`).
// Stryker disable all: no input tells these guards from `() => true`

function isString(u: unknown): u is string {
  return typeof u === 'string';
}

function isNumber(u: unknown): u is number {
  return typeof u === 'number';
}

function isStringArray(u: unknown): u is string[] {
  return Array.isArray(u) && u.every(isString);
}
// Stryker restore all

function bytes(text: string): number {
  // Stryker disable next-line StringLiteral: utf8 is also Node's default encoding of a string
  return Buffer.byteLength(text, 'utf8');
}

export const ServiceName = checked('ServiceName', isString, (u) => {
  if (typeof u !== 'string') return [`must be a string; got ${renderValue(u)}`];
  if (!SERVICE_NAME.test(u))
    return [
      `${renderValue(u)} is not a valid service name (fix: use an RFC 1123 DNS label: 1–63 lowercase letters, digits or '-', starting and ending with a letter or digit, e.g. "db")`,
    ];
  if (RESERVED_SERVICE_NAMES.includes(u)) return [`${renderValue(u)} is reserved (fix: choose another name)`];
  return [];
});

export const ImageReference = checked('ImageReference', isString, (u) => {
  if (typeof u !== 'string') return [`must be an image reference string; got ${renderValue(u)}`];
  const problems = imageReferenceProblems(u);
  return problems.length === 0
    ? []
    : [
        `${renderValue(u)} is not an image reference: ${problems.join('; ')} (fix: use a reference such as "redis:7" or "postgres@sha256:<digest>")`,
      ];
});

const ArtifactPath = checked('ArtifactPath', isString, (u) => {
  if (!(typeof u === 'string' && u.length <= MAX_ARTIFACT_NAME_CHARS && ARTIFACT_NAME.test(u)))
    return [
      `must be an artifact name: '/'-separated parts, none empty, "." or "..", no spaces, at most ${MAX_ARTIFACT_NAME_CHARS} characters (fix: e.g. "public/image.tar.zst"); got ${renderValue(u)}`,
    ];
  // The suffix decides how the artifact is decoded: anything else could not be loaded.
  if (artifactCompression(u) === undefined)
    return [
      `must name a docker save tarball ending in ${ARTIFACT_SUFFIXES.map((x) => `"${x}"`).join(', ')} (fix: e.g. "public/image.tar.zst"); got ${renderValue(u)}`,
    ];
  return [];
});

const TaskId = checked('TaskId', isString, (u) =>
  typeof u === 'string' && isTaskId(u)
    ? []
    : [`must be a Taskcluster task id (22 of A-Z, a-z, 0-9, '-', '_'); got ${renderValue(u)}`],
);

const IndexNamespace = checked('IndexNamespace', isString, (u) =>
  typeof u === 'string' && u.length <= MAX_INDEX_NAMESPACE_CHARS && INDEX_NAMESPACE.test(u)
    ? []
    : [
        `must be an index path such as "project.images.latest" (dot-separated words, at most ${MAX_INDEX_NAMESPACE_CHARS} characters); got ${renderValue(u)}`,
      ],
);

const IMAGE_SHAPES =
  'a reference string such as "redis:7", or an object {"type": "docker-image", "name"}, {"type": "indexed-image", "namespace", "path"} or {"type": "task-image", "taskId", "path"}';

const imageObjectCodecs = {
  'docker-image': strictStruct(
    'DockerImage',
    { type: t.literal('docker-image'), name: ImageReference },
    {},
    { describe: 'a docker-image', hints: { name: 'an image reference such as "redis:7"' } },
  ),
  'indexed-image': strictStruct(
    'IndexedImage',
    { type: t.literal('indexed-image'), namespace: IndexNamespace, path: ArtifactPath },
    {},
    {
      describe: 'an indexed-image',
      hints: {
        namespace: 'the index path of the task that made the image, e.g. "project.images.latest"',
        path: 'the artifact name, e.g. "public/image.tar.zst"',
      },
    },
  ),
  'task-image': strictStruct(
    'TaskImage',
    { type: t.literal('task-image'), taskId: TaskId, path: ArtifactPath },
    {},
    {
      describe: 'a task-image',
      hints: {
        taskId: 'the id of the task that made the image',
        path: 'the artifact name, e.g. "public/image.tar.zst"',
      },
    },
  ),
} as const;

/** `services[].image`: one of the four shapes docker payloads use. */
export const ServiceImage = new t.Type<ImageSpec, unknown, unknown>(
  'ServiceImage',
  // Stryker disable next-line all: io-ts's `is`, which no decode and no caller reads
  (u): u is ImageSpec => ServiceImage.validate(u, [{ key: '', type: t.unknown, actual: u }])._tag === 'Right',
  (u, c) => {
    if (typeof u === 'string') return ImageReference.validate(u, c);
    if (!isPlainObject(u)) return t.failure(u, c, `must be ${IMAGE_SHAPES}; got ${renderValue(u)}`);
    const type = own(u, 'type');
    const codec =
      typeof type === 'string' && Object.prototype.hasOwnProperty.call(imageObjectCodecs, type)
        ? imageObjectCodecs[type as keyof typeof imageObjectCodecs]
        : undefined;
    if (codec === undefined)
      return t.failures([
        failureAt(
          c,
          'type',
          type,
          `must be "docker-image", "indexed-image" or "task-image"; got ${renderValue(type)} (fix: ${IMAGE_SHAPES})`,
        ),
      ]);
    return codec.validate(u, c) as t.Validation<ImageSpec>;
  },
  t.identity,
);

function argumentList(
  name: string,
  options: { maxBytes: number; nonEmpty: boolean; what: string; example: string },
): t.Type<string[], string[], unknown> {
  return new t.Type<string[], string[], unknown>(
    name,
    isStringArray,
    (u, c) => {
      if (!Array.isArray(u) || (options.nonEmpty && u.length === 0))
        return t.failure(
          u,
          c,
          `must be ${options.nonEmpty ? 'a non-empty' : 'an'} array of strings (${options.what}); got ${renderValue(u)} (fix: write it as an array, e.g. ${options.example})`,
        );
      const errors: t.ValidationError[] = [];
      if (u.length > MAX_COMMAND_ARGS)
        errors.push(failureHere(c, u, `has ${u.length} arguments; at most ${MAX_COMMAND_ARGS}`));
      // An index loop, not forEach: a sparse array's holes are values to refuse, not to skip.
      for (let i = 0; i < u.length; i++) {
        const arg: unknown = u[i];
        const key = String(i);
        if (typeof arg !== 'string')
          errors.push(failureAt(c, key, arg, `must be a string; got ${renderValue(arg)}`));
        else if (arg.includes('\0'))
          errors.push(
            failureAt(
              c,
              key,
              arg,
              'contains a NUL character, which a command line cannot carry (fix: remove it)',
            ),
          );
        else if (bytes(arg) > options.maxBytes)
          errors.push(
            failureAt(
              c,
              key,
              arg,
              `is ${bytes(arg)} bytes; at most ${options.maxBytes} bytes per argument (fix: shorten it)`,
            ),
          );
      }
      return errors.length > 0 ? t.failures(errors) : t.success(u as string[]);
    },
    t.identity,
  );
}

/** Why a payload may not set this variable, or undefined when it may. */
export function envNameProblem(name: string): string | undefined {
  if (!POSIX_ENV_NAME.test(name))
    return 'is not a POSIX environment variable name (fix: use letters, digits and \'_\', not starting with a digit, e.g. "MY_SETTING")';
  if (INJECTED_ENV_NAMES.includes(name))
    return `is set by docker-services for every service (fix: remove it; every service receives ${INJECTED_ENV_NAMES.join(', ')})`;
  if (name.startsWith(RESERVED_ENV_PREFIX))
    return `is reserved: names starting with ${RESERVED_ENV_PREFIX} belong to Taskcluster (fix: rename it; a service reaches Taskcluster through TASKCLUSTER_PROXY_URL)`;
  if (LOADER_HIJACK_ENV_NAMES.includes(name) || LOADER_HIJACK_ENV_PREFIXES.some((p) => name.startsWith(p)))
    return "can load foreign code into the service's programs and is not allowed (fix: remove it; loader and interpreter hooks such as LD_*, NODE_OPTIONS and PYTHONPATH cannot be set)";
  return undefined;
}

/** The payload's environment for one service. Values are secret: no error ever shows one. */
export function envCodec(
  limits: LimitsConfig,
): t.Type<Record<string, string>, Record<string, string>, unknown> {
  return markSecret(
    new t.Type<Record<string, string>, Record<string, string>, unknown>(
      // Stryker disable next-line StringLiteral: a codec's name is not read (errors carry messages)
      'Env',
      // Stryker disable next-line all: io-ts's `is`, which no decode and no caller reads
      (u): u is Record<string, string> => isPlainObject(u) && Object.values(u).every(isString),
      (u, c) => {
        if (!isPlainObject(u))
          return t.failure(
            u,
            c,
            `must be an object mapping variable names to string values, not ${aTypeOf(u)}`,
          );
        const errors: t.ValidationError[] = [];
        const names = Object.keys(u);
        if (names.length > limits.maxEnvEntries)
          errors.push(
            failureHere(
              c,
              u,
              `has ${names.length} variables; at most ${limits.maxEnvEntries} per service (fix: set fewer)`,
            ),
          );
        let total = 0;
        for (const name of names) {
          const value = u[name];
          const nameProblem = envNameProblem(name);
          if (nameProblem) errors.push(failureAt(c, name, value, nameProblem));
          if (typeof value !== 'string') {
            errors.push(failureAt(c, name, value, `must be a string, not ${aTypeOf(value)} (fix: quote it)`));
            continue;
          }
          total += bytes(`${name}=${value}`);
          if (value.includes('\0'))
            errors.push(
              failureAt(
                c,
                name,
                value,
                'contains a NUL character, which an environment cannot carry (fix: remove it)',
              ),
            );
          if (bytes(value) > limits.maxValueBytes)
            errors.push(
              failureAt(
                c,
                name,
                value,
                `value is ${bytes(value)} bytes; at most ${limits.maxValueBytes} bytes per value (fix: pass large data another way, e.g. an artifact or a secret fetched at run time)`,
              ),
            );
        }
        if (total > limits.maxEnvBytes)
          errors.push(
            failureHere(
              c,
              u,
              `is ${total} bytes (NAME=value, all entries); at most ${limits.maxEnvBytes} bytes per service (fix: shorten the values)`,
            ),
          );
        if (errors.length > 0) return t.failures(errors);
        // fromEntries defines own properties: a name such as `__proto__` stays an ordinary variable.
        return t.success(Object.fromEntries(names.map((name) => [name, u[name] as string])));
      },
      t.identity,
    ),
  );
}

function seconds(name: string, min: number): t.Type<number, number, unknown> {
  // The range refuses NaN and the infinities (JSON carries neither); the typeof refuses "5".
  return checked(name, isNumber, (u) =>
    typeof u === 'number' && u >= min && u <= MAX_HEALTH_SECONDS
      ? []
      : [`must be a number of seconds from ${min} to ${MAX_HEALTH_SECONDS}; got ${renderValue(u)}`],
  );
}

export function healthCheckCodec(limits: LimitsConfig) {
  return strictStruct(
    // Stryker disable next-line StringLiteral: a codec's name is not read (errors carry messages)
    'HealthCheck',
    {
      // Stryker disable next-line StringLiteral: a codec's name is not read (errors carry messages)
      command: argumentList('HealthCheckCommand', {
        maxBytes: limits.maxValueBytes,
        nonEmpty: true,
        what: "the probe's argv",
        example: '["redis-cli", "ping"]',
      }),
    },
    {
      // Stryker disable StringLiteral: a codec's name is not read (errors carry messages)
      interval: seconds('interval', MIN_HEALTH_PROBE_SECONDS),
      timeout: seconds('timeout', MIN_HEALTH_PROBE_SECONDS),
      startPeriod: seconds('startPeriod', 0),
      retries: checked('retries', isNumber, (u) =>
        // Stryker restore StringLiteral
        typeof u === 'number' && Number.isInteger(u) && u >= 1 && u <= MAX_HEALTH_RETRIES
          ? []
          : [`must be an integer from 1 to ${MAX_HEALTH_RETRIES}; got ${renderValue(u)}`],
      ),
    },
    {
      describe: 'an object with command and optional interval, timeout, startPeriod, retries',
      hints: { command: 'the probe to run, e.g. ["redis-cli", "ping"]' },
    },
  );
}

export function serviceSpecCodec(limits: LimitsConfig) {
  return strictStruct(
    // Stryker disable next-line StringLiteral: a codec's name is not read (errors carry messages)
    'ServiceSpec',
    { name: ServiceName, image: ServiceImage },
    {
      // Stryker disable next-line StringLiteral: a codec's name is not read (errors carry messages)
      command: argumentList('Command', {
        maxBytes: limits.maxValueBytes,
        nonEmpty: false,
        what: 'Docker Cmd',
        example: '["redis-server", "--port", "6380"]',
      }),
      env: envCodec(limits),
      healthCheck: healthCheckCodec(limits),
    },
    {
      describe: `an object with ${SERVICE_FIELDS}`,
      hints: {
        name: 'a DNS label such as "db"; the task reaches the service by it',
        image: IMAGE_SHAPES,
      },
    },
  );
}

/** The codec at the default limits, for its type; decoding uses the worker's limits. */
export const ServiceSpec = serviceSpecCodec(DEFAULT_LIMITS);
export type ServiceSpec = t.TypeOf<typeof ServiceSpec>;
export type HealthCheckSpec = NonNullable<ServiceSpec['healthCheck']>;

/** `payload.services`: the items, their count, and unique names. */
export function servicesCodec(limits: LimitsConfig): t.Type<ServiceSpec[], unknown, unknown> {
  const item = serviceSpecCodec(limits);
  return new t.Type<ServiceSpec[], unknown, unknown>(
    // Stryker disable next-line StringLiteral: a codec's name is not read (errors carry messages)
    'Services',
    // Stryker disable next-line all: io-ts's `is`, which no decode and no caller reads
    (u): u is ServiceSpec[] => Array.isArray(u) && u.every((x) => item.is(x)),
    (u, c) => {
      if (!Array.isArray(u))
        return t.failure(
          u,
          c,
          `must be an array of services, each ${`an object with ${SERVICE_FIELDS}`}; got ${renderValue(u)}`,
        );
      const errors: t.ValidationError[] = [];
      if (u.length > limits.maxServices)
        errors.push(
          failureHere(
            c,
            u,
            `has ${u.length} services; at most ${limits.maxServices} per task (fix: run fewer services)`,
          ),
        );
      const services: ServiceSpec[] = [];
      const firstWithName = new Map<string, number>();
      for (let i = 0; i < u.length; i++) {
        const raw: unknown = u[i];
        const at = t.appendContext(c, String(i), item, raw);
        const name = isPlainObject(raw) ? own(raw, 'name') : undefined;
        if (ServiceName.is(name)) {
          const first = firstWithName.get(name);
          if (first === undefined) firstWithName.set(name, i);
          else
            errors.push(
              failureAt(
                at,
                'name',
                name,
                `${renderValue(name)} is already the name of services[${first}] (fix: give each service a unique name)`,
              ),
            );
        }
        const result = item.validate(raw, at);
        if (result._tag === 'Left') errors.push(...result.left);
        else services.push(result.right);
      }
      // In service order: each service's errors are pushed in turn, after the count's.
      return errors.length > 0 ? t.failures(errors) : t.success(services);
    },
    t.identity,
  );
}

/** A payload with services: an object; only its `services` key is read. */
export function payloadCodec(limits: LimitsConfig): t.Type<ServiceSpec[], unknown, unknown> {
  const services = servicesCodec(limits);
  return new t.Type<ServiceSpec[], unknown, unknown>(
    // Stryker disable next-line StringLiteral: a codec's name is not read (errors carry messages)
    'PayloadServices',
    // Stryker disable next-line all: io-ts's `is`, which no decode and no caller reads
    (u): u is ServiceSpec[] => services.is(u),
    (u, c) => {
      if (!isPlainObject(u))
        return t.failure(u, c, `must be an object (the task's payload); got ${renderValue(u)}`);
      const raw = own(u, 'services');
      if (raw === undefined) return t.success([]);
      return services.validate(raw, t.appendContext(c, 'services', services, raw));
    },
    t.identity,
  );
}

/** Decodes `payload.services` under the worker's limits; a payload without `services` has none. */
export function decodeServicesEither(
  payload: unknown,
  config: Pick<WorkerConfig, 'limits'>,
): E.Either<PayloadValidationError, ServiceSpec[]> {
  const result = payloadCodec(config.limits).decode(payload);
  return E.isLeft(result)
    ? E.left(new PayloadValidationError(toPayloadErrors(result.left, 'payload')))
    : E.right(result.right);
}

/** Decodes `payload.services`; throws `PayloadValidationError` with every problem found. */
export function decodeServices(payload: unknown, config: Pick<WorkerConfig, 'limits'>): ServiceSpec[] {
  const result = decodeServicesEither(payload, config);
  if (E.isLeft(result)) throw result.left;
  return result.right;
}
