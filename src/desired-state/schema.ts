/**
 * `payload.services` as a JSON Schema, for a host that validates a task's payload before it
 * reaches us: d2g's docker-worker payload schema (`additionalProperties: false`) must list
 * `services` or refuse every task that has them. `docker-services schema` prints it.
 *
 * Written by hand next to the codec, not derived from it: the codecs in `payload.ts` are io-ts
 * types with hand-written checks (so that every failure says what would be valid), and a check is
 * a function, which no tool can turn into a schema. What keeps the two together: every value here
 * comes from the constants the codecs enforce (`policy.ts`, `reference.ts`, the worker's limits),
 * and `test/desired-state/schema.test.ts` runs the schema (ajv) and the codec over the payload
 * fixtures, the bad-payload table and generated payloads, and fails on any verdict that differs
 * other than by `schemaGaps()`.
 *
 * Draft-07 is declared, but only keywords that draft-06 has as well are used (Taskcluster's
 * docker-worker schema is draft-06), and every pattern is valid in RE2 (Go's regexp, which
 * gojsonschema uses) as well as in JavaScript. There is no `$ref` and no `$id`, so the schema can be
 * pasted under `properties.services` of another document as it is (less its `$schema`).
 */
import type { LimitsConfig } from './config.js';
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
import { TASK_ID } from './names.js';
import { IMAGE_REFERENCE, MAX_IMAGE_REFERENCE_CHARS } from './reference.js';
import { ARTIFACT_SUFFIX } from './image-source.js';

export const JSON_SCHEMA_DRAFT = 'http://json-schema.org/draft-07/schema#';

/** The keywords this module writes (a subset of draft-06 and draft-07). */
export interface JsonSchema {
  $schema?: string;
  title?: string;
  description?: string;
  type?: 'object' | 'array' | 'string' | 'number' | 'integer';
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  maxProperties?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  not?: JsonSchema;
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

/** What the worker's limits contribute to the schema; the rest of `LimitsConfig` is not the payload's. */
export type SchemaLimits = Pick<
  LimitsConfig,
  'maxServices' | 'maxEnvEntries' | 'maxValueBytes' | 'maxEnvBytes'
>;

/**
 * The rules of the codec that a draft-07 schema cannot state: a payload that breaks only these
 * passes the schema and is refused by the worker when the task starts, with a message naming the
 * path. Each is stated by the schema as far as it can be: a byte cap becomes the same number as a
 * cap in characters, which a UTF-8 string never exceeds before it exceeds the bytes.
 */
export function schemaGaps(limits: SchemaLimits): string[] {
  return [
    'service names are unique within a task (JSON Schema compares whole items, never one field of them)',
    `an env value, a command argument and a health-check argument are at most ${limits.maxValueBytes} bytes in UTF-8 (JSON Schema counts characters)`,
    `a service's environment is at most ${limits.maxEnvBytes} bytes in all, counted as NAME=value per entry (JSON Schema cannot add lengths up)`,
  ];
}

/**
 * A pattern that matches any string starting with one of `prefixes`. Only syntax characters are
 * escaped: JavaScript's Unicode mode, which ajv uses, refuses any other escaped character.
 */
function startsWithAny(prefixes: readonly string[]): string {
  // Stryker disable next-line StringLiteral: no prefix of the policy has a syntax character to escape
  const escaped = prefixes.map((prefix) => prefix.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'));
  return `^(?:${escaped.join('|')})`;
}

/** A string a command line or an environment can carry: no NUL. */
function argument(limits: SchemaLimits, description: string): JsonSchema {
  return { type: 'string', maxLength: limits.maxValueBytes, pattern: '^[^\\x00]*$', description };
}

function argumentList(limits: SchemaLimits, options: { minItems: number; description: string }): JsonSchema {
  return {
    type: 'array',
    ...(options.minItems > 0 ? { minItems: options.minItems } : {}),
    maxItems: MAX_COMMAND_ARGS,
    items: argument(limits, 'one argument'),
    description: options.description,
  };
}

/** The service's `image`: the one place its shape is stated, so a new image form changes only this. */
export function imageSchema(): JsonSchema {
  const reference: JsonSchema = {
    type: 'string',
    minLength: 1,
    maxLength: MAX_IMAGE_REFERENCE_CHARS,
    pattern: IMAGE_REFERENCE.source,
  };
  const artifact: JsonSchema = {
    type: 'string',
    maxLength: MAX_ARTIFACT_NAME_CHARS,
    allOf: [{ pattern: ARTIFACT_NAME.source }, { pattern: ARTIFACT_SUFFIX.source }],
    description:
      'The artifact name, a docker save tarball ending in .tar, .tar.zst or .tar.lz4, e.g. "public/image.tar.zst"; one not under public/ needs queue:get-artifact:<name> in the task scopes.',
  };
  const typed = (type: string, description: string, properties: Record<string, JsonSchema>): JsonSchema =>
    strictObject({ title: type, description }, ['type', ...Object.keys(properties)], {
      type: { enum: [type] },
      ...properties,
    });
  return {
    title: 'Service image',
    description:
      'A Docker image reference ([registry/]name[:tag][@sha256:digest], lowercase repository, e.g. "redis:7"), or an object naming one, or a docker save tarball (.tar, .tar.zst, .tar.lz4) that an earlier task published as an artifact. A proxy scope names the image by its digest or image id, never its tag.',
    oneOf: [
      reference,
      typed('docker-image', 'A registry image, spelled out.', { name: reference }),
      typed('indexed-image', 'An artifact of the task an index path names now.', {
        namespace: { type: 'string', maxLength: MAX_INDEX_NAMESPACE_CHARS, pattern: INDEX_NAMESPACE.source },
        path: artifact,
      }),
      typed('task-image', 'An artifact of the given task.', {
        taskId: { type: 'string', pattern: TASK_ID.source },
        path: artifact,
      }),
    ],
  };
}

function nameSchema(): JsonSchema {
  return {
    title: 'Service name',
    description:
      'The name the task reaches the service by: an RFC 1123 DNS label (1–63 lowercase letters, digits or "-", starting and ending with a letter or digit), unique within the task, and none of the names containers already resolve.',
    type: 'string',
    pattern: SERVICE_NAME.source,
    not: { enum: [...RESERVED_SERVICE_NAMES] },
  };
}

function envSchema(limits: SchemaLimits): JsonSchema {
  return {
    title: 'Environment',
    description: `Variables for the service, NAME to value (at most ${limits.maxEnvEntries}). Names are POSIX names; docker-services sets ${INJECTED_ENV_NAMES.join(', ')} itself, names starting with ${RESERVED_ENV_PREFIX} belong to Taskcluster, and loader and interpreter hooks (${LOADER_HIJACK_ENV_PREFIXES.map((p) => `${p}*`).join(', ')}, NODE_OPTIONS, PYTHONPATH, …) are refused. Values may be secret: they are never shown in errors, logs or plans.`,
    type: 'object',
    maxProperties: limits.maxEnvEntries,
    propertyNames: {
      pattern: POSIX_ENV_NAME.source,
      not: {
        anyOf: [
          { enum: [...INJECTED_ENV_NAMES, ...LOADER_HIJACK_ENV_NAMES] },
          { pattern: startsWithAny([RESERVED_ENV_PREFIX, ...LOADER_HIJACK_ENV_PREFIXES]) },
        ],
      },
    },
    additionalProperties: argument(limits, 'the value'),
  };
}

function seconds(min: number, description: string): JsonSchema {
  return { type: 'number', minimum: min, maximum: MAX_HEALTH_SECONDS, description };
}

/** An object with these fields and no other, as `strictStruct` decodes it. */
function strictObject(
  about: { title: string; description: string },
  required: string[],
  properties: Record<string, JsonSchema>,
): JsonSchema {
  return { ...about, type: 'object', required, additionalProperties: false, properties };
}

function healthCheckSchema(limits: SchemaLimits): JsonSchema {
  return strictObject(
    {
      title: 'Health check',
      description:
        "Replaces the image's HEALTHCHECK: the service is ready once the probe succeeds. Durations in seconds.",
    },
    ['command'],
    {
      command: argumentList(limits, {
        minItems: 1,
        description: 'The probe\'s argv, run in the service container, e.g. ["redis-cli", "ping"].',
      }),
      interval: seconds(MIN_HEALTH_PROBE_SECONDS, 'Time between probes.'),
      timeout: seconds(MIN_HEALTH_PROBE_SECONDS, 'Time a probe may take.'),
      startPeriod: seconds(0, 'Time after start during which failing probes do not count.'),
      retries: {
        type: 'integer',
        minimum: 1,
        maximum: MAX_HEALTH_RETRIES,
        description: 'Failures in a row that make the service unhealthy.',
      },
    },
  );
}

function serviceSchema(limits: SchemaLimits): JsonSchema {
  return strictObject(
    {
      title: 'Service',
      description:
        "A container started before the task, on the task's network. There is no field for entrypoint, privileged mode, capabilities, devices, mounts, ports, network mode, restart policy, labels or links.",
    },
    ['name', 'image'],
    {
      name: nameSchema(),
      image: imageSchema(),
      command: argumentList(limits, {
        minItems: 0,
        description:
          "Docker Cmd: the arguments to the image's entrypoint (the entrypoint itself cannot be replaced).",
      }),
      env: envSchema(limits),
      healthCheck: healthCheckSchema(limits),
    },
  );
}

/** The JSON Schema of `payload.services` under the worker's limits. */
export function servicesSchema(limits: SchemaLimits): JsonSchema {
  return {
    $schema: JSON_SCHEMA_DRAFT,
    title: 'Services',
    description: `Service containers started next to the task container (at most ${limits.maxServices}), each reachable from the task by its name. The worker also refuses what this schema cannot state: ${schemaGaps(limits).join('; ')}.`,
    type: 'array',
    maxItems: limits.maxServices,
    items: serviceSchema(limits),
  };
}
