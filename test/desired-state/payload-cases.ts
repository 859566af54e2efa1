/**
 * The bad-payload table: each invalid payload with the exact, path-qualified messages the codec
 * gives for it. `payload.test.ts` checks the messages; `schema.test.ts` checks that the JSON
 * Schema refuses the same payloads (less the rules JSON Schema cannot state).
 */

const SERVICE = 'an object with name, image and optional command, env, healthCheck';
const NAME_FIX =
  '(fix: use an RFC 1123 DNS label: 1–63 lowercase letters, digits or \'-\', starting and ending with a letter or digit, e.g. "db")';
const IMAGE_FIX = '(fix: use a reference such as "redis:7" or "postgres@sha256:<digest>")';
const ALLOWED = 'unknown field; allowed: name, image, command, env, healthCheck';
const POSIX =
  'is not a POSIX environment variable name (fix: use letters, digits and \'_\', not starting with a digit, e.g. "MY_SETTING")';
const INJECTED =
  'is set by docker-services for every service (fix: remove it; every service receives RUN_ID, TASK_ID, TASK_SCOPES, TASKCLUSTER_PROXY_URL)';
const TC_PREFIX =
  'is reserved: names starting with TASKCLUSTER_ belong to Taskcluster (fix: rename it; a service reaches Taskcluster through TASKCLUSTER_PROXY_URL)';
const HIJACK =
  "can load foreign code into the service's programs and is not allowed (fix: remove it; loader and interpreter hooks such as LD_*, NODE_OPTIONS and PYTHONPATH cannot be set)";
const CMD_FIX = '(fix: write it as an array, e.g. ["redis-server", "--port", "6380"])';
const HC_FIX = '(fix: write it as an array, e.g. ["redis-cli", "ping"])';

const IMAGE_SHAPES =
  'a reference string such as "redis:7", or an object {"type": "docker-image", "name"}, {"type": "indexed-image", "namespace", "path"} or {"type": "task-image", "taskId", "path"}';
export const TASK_ID = 'Zq0vH1sVRhmDw0oJxzzXtA';

/** A valid artifact name of exactly `n` characters (n ≥ 12). */
export function artifactName(n: number): string {
  return `public/${long(n - 'public/'.length - '.tar'.length)}.tar`;
}

/** A valid index namespace of exactly `n` characters: dot-separated words of at most 100. */
export function indexNamespace(n: number): string {
  const words: string[] = [];
  let left = n;
  for (; left > 100; left -= 101) words.push(long(100));
  if (left < 1) throw new Error(`no namespace of ${n} characters ends in a 100-character word`);
  return [...words, long(left)].join('.');
}

/** One valid service to which each case adds its flaw. */
export function svc(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'db', image: 'redis:7', ...extra };
}

export function env(entries: Record<string, unknown>): unknown {
  return { services: [svc({ env: entries })] };
}

export const KiB = 1024;
export const long = (n: number, c = 'a'): string => c.repeat(n);

/** (name, payload, the codec's errors as `path: message`). */
export const INVALID_PAYLOADS: ReadonlyArray<[string, unknown, string[]]> = [
  ['payload is a number', 5, ["payload: must be an object (the task's payload); got 5"]],
  ['payload is an array', [], ["payload: must be an object (the task's payload); got []"]],
  ['payload is null', null, ["payload: must be an object (the task's payload); got null"]],
  [
    'services is an object',
    { services: { name: 'db' } },
    [`services: must be an array of services, each ${SERVICE}; got {"name":"db"}`],
  ],
  [
    'services is null',
    { services: null },
    [`services: must be an array of services, each ${SERVICE}; got null`],
  ],
  ['a service is a string', { services: ['redis'] }, [`services[0]: must be ${SERVICE}; got "redis"`]],
  ['unknown key', { services: [svc({ privileged: true })] }, [`services[0].privileged: ${ALLOWED}`]],
  [
    'host-power keys, all reported',
    {
      services: [
        svc({
          entrypoint: ['sh'],
          ports: ['0.0.0.0:6379:6379'],
          volumes: ['/:/host'],
          labels: { 'org.taskcluster.docker-services.task-id': 'victim' },
          networkMode: 'host',
          capAdd: ['SYS_ADMIN'],
          restartPolicy: 'always',
          links: ['other'],
        }),
      ],
    },
    [
      `services[0].entrypoint: ${ALLOWED}`,
      `services[0].ports: ${ALLOWED}`,
      `services[0].volumes: ${ALLOWED}`,
      `services[0].labels: ${ALLOWED}`,
      `services[0].networkMode: ${ALLOWED}`,
      `services[0].capAdd: ${ALLOWED}`,
      `services[0].restartPolicy: ${ALLOWED}`,
      `services[0].links: ${ALLOWED}`,
    ],
  ],
  [
    'missing name and image',
    { services: [{}] },
    [
      'services[0].name: required field missing (fix: a DNS label such as "db"; the task reaches the service by it)',
      'services[0].image: required field missing (fix: a reference string such as "redis:7", or an object {"type": "docker-image", "name"}, {"type": "indexed-image", "namespace", "path"} or {"type": "task-image", "taskId", "path"})',
    ],
  ],
  ['name is a number', { services: [svc({ name: 5 })] }, ['services[0].name: must be a string; got 5']],
  [
    'name in capitals',
    { services: [svc({ name: 'DB' })] },
    [`services[0].name: "DB" is not a valid service name ${NAME_FIX}`],
  ],
  [
    'name with a dot',
    { services: [svc({ name: 'pypi.org' })] },
    [`services[0].name: "pypi.org" is not a valid service name ${NAME_FIX}`],
  ],
  [
    'name with _',
    { services: [svc({ name: 'a_b' })] },
    [`services[0].name: "a_b" is not a valid service name ${NAME_FIX}`],
  ],
  [
    'name with a leading -',
    { services: [svc({ name: '-rm' })] },
    [`services[0].name: "-rm" is not a valid service name ${NAME_FIX}`],
  ],
  [
    'empty name',
    { services: [svc({ name: '' })] },
    [`services[0].name: "" is not a valid service name ${NAME_FIX}`],
  ],
  [
    '64-character name',
    { services: [svc({ name: long(64) })] },
    [`services[0].name: "${long(60)}"… (64 chars) is not a valid service name ${NAME_FIX}`],
  ],
  [
    'Unicode look-alike name',
    { services: [svc({ name: 'dЬ' })] },
    [`services[0].name: "dЬ" is not a valid service name ${NAME_FIX}`],
  ],
  [
    'reserved: taskcluster',
    { services: [svc({ name: 'taskcluster' })] },
    ['services[0].name: "taskcluster" is reserved (fix: choose another name)'],
  ],
  [
    'reserved: localhost',
    { services: [svc({ name: 'localhost' })] },
    ['services[0].name: "localhost" is reserved (fix: choose another name)'],
  ],
  [
    'duplicate names',
    { services: [svc(), svc({ image: 'postgres:16' }), svc({ name: 'cache' }), svc({ name: 'cache' })] },
    [
      'services[1].name: "db" is already the name of services[0] (fix: give each service a unique name)',
      'services[3].name: "cache" is already the name of services[2] (fix: give each service a unique name)',
    ],
  ],
  [
    'two services with the same invalid name: no duplicate reported',
    { services: [svc({ name: 'DB' }), svc({ name: 'DB' }), { image: 'redis:7' }, { image: 'redis:7' }] },
    [
      `services[0].name: "DB" is not a valid service name ${NAME_FIX}`,
      `services[1].name: "DB" is not a valid service name ${NAME_FIX}`,
      'services[2].name: required field missing (fix: a DNS label such as "db"; the task reaches the service by it)',
      'services[3].name: required field missing (fix: a DNS label such as "db"; the task reaches the service by it)',
    ],
  ],
  [
    'image with flags',
    { services: [svc({ image: '-v /:/host alpine' })] },
    [
      `services[0].image: "-v /:/host alpine" is not an image reference: must not start with '-'; must not contain whitespace ${IMAGE_FIX}`,
    ],
  ],
  [
    'image with a trailing flag',
    { services: [svc({ image: 'alpine --privileged' })] },
    [
      `services[0].image: "alpine --privileged" is not an image reference: must not contain whitespace ${IMAGE_FIX}`,
    ],
  ],
  [
    '300-character image',
    { services: [svc({ image: long(300) })] },
    [
      `services[0].image: "${long(60)}"… (300 chars) is not an image reference: is 300 characters; at most 255 ${IMAGE_FIX}`,
    ],
  ],
  [
    'empty image',
    { services: [svc({ image: '' })] },
    [`services[0].image: "" is not an image reference: must not be empty ${IMAGE_FIX}`],
  ],
  [
    'image is a number',
    { services: [svc({ image: 5 })] },
    [
      'services[0].image: must be a reference string such as "redis:7", or an object {"type": "docker-image", "name"}, {"type": "indexed-image", "namespace", "path"} or {"type": "task-image", "taskId", "path"}; got 5',
    ],
  ],
  [
    'image object of an unknown type',
    { services: [svc({ image: { type: 'docker-tarball', url: 'https://x' } })] },
    [
      'services[0].image.type: must be "docker-image", "indexed-image" or "task-image"; got "docker-tarball" (fix: a reference string such as "redis:7", or an object {"type": "docker-image", "name"}, {"type": "indexed-image", "namespace", "path"} or {"type": "task-image", "taskId", "path"})',
    ],
  ],
  [
    'task image with a bad task id, an absolute path and an extra field',
    { services: [svc({ image: { type: 'task-image', taskId: 'nope', path: '/etc/passwd', tag: 'x' } })] },
    [
      "services[0].image.taskId: must be a Taskcluster task id (22 of A-Z, a-z, 0-9, '-', '_'); got \"nope\"",
      'services[0].image.path: must be an artifact name: \'/\'-separated parts, none empty, "." or "..", no spaces, at most 1024 characters (fix: e.g. "public/image.tar.zst"); got "/etc/passwd"',
      'services[0].image.tag: unknown field; allowed: type, taskId, path',
    ],
  ],
  [
    'indexed image without a path, a path that walks up, docker-image with a bad name',
    {
      services: [
        svc({ image: { type: 'indexed-image', namespace: 'proj.images..latest' } }),
        svc({
          name: 'b',
          image: { type: 'task-image', taskId: 'Zq0vH1sVRhmDw0oJxzzXtA', path: 'public/../x' },
        }),
        svc({ name: 'c', image: { type: 'docker-image', name: '-v /:/host' } }),
      ],
    },
    [
      'services[0].image.namespace: must be an index path such as "project.images.latest" (dot-separated words, at most 255 characters); got "proj.images..latest"',
      'services[0].image.path: required field missing (fix: the artifact name, e.g. "public/image.tar.zst")',
      'services[1].image.path: must be an artifact name: \'/\'-separated parts, none empty, "." or "..", no spaces, at most 1024 characters (fix: e.g. "public/image.tar.zst"); got "public/../x"',
      `services[2].image.name: "-v /:/host" is not an image reference: must not start with '-'; must not contain whitespace ${IMAGE_FIX}`,
    ],
  ],
  [
    'docker-image whose name is a number',
    { services: [svc({ image: { type: 'docker-image', name: 5 } })] },
    ['services[0].image.name: must be an image reference string; got 5'],
  ],
  [
    'image type given as an array',
    { services: [svc({ image: { type: ['docker-image'], name: 'redis:7' } })] },
    [
      `services[0].image.type: must be "docker-image", "indexed-image" or "task-image"; got ["docker-image"] (fix: ${IMAGE_SHAPES})`,
    ],
  ],
  [
    'image type naming an Object prototype property',
    { services: [svc({ image: { type: 'constructor', name: 'redis:7' } })] },
    [
      `services[0].image.type: must be "docker-image", "indexed-image" or "task-image"; got "constructor" (fix: ${IMAGE_SHAPES})`,
    ],
  ],
  [
    'task id and index namespace given as arrays',
    {
      services: [
        svc({ image: { type: 'task-image', taskId: [TASK_ID], path: 'public/image.tar' } }),
        svc({
          name: 'b',
          image: { type: 'indexed-image', namespace: ['project.images'], path: 'public/image.tar' },
        }),
      ],
    },
    [
      `services[0].image.taskId: must be a Taskcluster task id (22 of A-Z, a-z, 0-9, '-', '_'); got ["${TASK_ID}"]`,
      'services[1].image.namespace: must be an index path such as "project.images.latest" (dot-separated words, at most 255 characters); got ["project.images"]',
    ],
  ],
  [
    'artifact name without a tarball suffix',
    { services: [svc({ image: { type: 'task-image', taskId: TASK_ID, path: 'public/image.zip' } })] },
    [
      'services[0].image.path: must name a docker save tarball ending in ".tar", ".tar.zst", ".tar.lz4" (fix: e.g. "public/image.tar.zst"); got "public/image.zip"',
    ],
  ],
  [
    'artifact name one character over 1024',
    { services: [svc({ image: { type: 'task-image', taskId: TASK_ID, path: artifactName(1025) } })] },
    [
      `services[0].image.path: must be an artifact name: '/'-separated parts, none empty, "." or "..", no spaces, at most 1024 characters (fix: e.g. "public/image.tar.zst"); got "${artifactName(1025).slice(0, 60)}"… (1025 chars)`,
    ],
  ],
  [
    'index namespace one character over 255',
    {
      services: [
        svc({ image: { type: 'indexed-image', namespace: indexNamespace(256), path: 'public/image.tar' } }),
      ],
    },
    [
      `services[0].image.namespace: must be an index path such as "project.images.latest" (dot-separated words, at most 255 characters); got "${indexNamespace(256).slice(0, 60)}"… (256 chars)`,
    ],
  ],
  [
    'image in capitals',
    { services: [svc({ image: 'Redis:7' })] },
    [
      `services[0].image: "Redis:7" is not an image reference: repository name must be lowercase ${IMAGE_FIX}`,
    ],
  ],
  [
    'image with an empty tag',
    { services: [svc({ image: 'redis:' })] },
    [
      `services[0].image: "redis:" is not an image reference: does not follow Docker's reference grammar [registry/]name[:tag][@sha256:digest] ${IMAGE_FIX}`,
    ],
  ],
  [
    'image with a short digest',
    { services: [svc({ image: 'redis@sha256:1234' })] },
    [
      `services[0].image: "redis@sha256:1234" is not an image reference: does not follow Docker's reference grammar [registry/]name[:tag][@sha256:digest] ${IMAGE_FIX}`,
    ],
  ],
  [
    'command is a string',
    { services: [svc({ command: 'redis-server --port 6380' })] },
    [
      `services[0].command: must be an array of strings (Docker Cmd); got "redis-server --port 6380" ${CMD_FIX}`,
    ],
  ],
  [
    'command is an object',
    { services: [svc({ command: { 0: 'redis-server' } })] },
    [`services[0].command: must be an array of strings (Docker Cmd); got {"0":"redis-server"} ${CMD_FIX}`],
  ],
  [
    'command arguments are not strings',
    { services: [svc({ command: ['redis-server', 6380, null] })] },
    [
      'services[0].command[1]: must be a string; got 6380',
      'services[0].command[2]: must be a string; got null',
    ],
  ],
  [
    'command argument with NUL',
    { services: [svc({ command: ['a\0b'] })] },
    ['services[0].command[0]: contains a NUL character, which a command line cannot carry (fix: remove it)'],
  ],
  [
    'command argument over the byte limit in two-byte characters',
    { services: [svc({ command: ['redis-server', 'é'.repeat(16_385)] })] },
    ['services[0].command[1]: is 32770 bytes; at most 32768 bytes per argument (fix: shorten it)'],
  ],
  [
    'too many command arguments',
    { services: [svc({ command: Array.from({ length: 257 }, () => 'x') })] },
    ['services[0].command: has 257 arguments; at most 256'],
  ],
  [
    'env is an array',
    { services: [svc({ env: ['A=B'] })] },
    ['services[0].env: must be an object mapping variable names to string values, not an array'],
  ],
  ['env name A=B', env({ 'A=B': 'x' }), [`services[0].env["A=B"]: ${POSIX}`]],
  ['empty env name', env({ '': 'x' }), [`services[0].env[""]: ${POSIX}`]],
  ['env name with a newline', env({ 'X\nY': 'x' }), [`services[0].env["X\\nY"]: ${POSIX}`]],
  ['env name =X', env({ '=X': 'x' }), [`services[0].env["=X"]: ${POSIX}`]],
  ['env name starting with a digit', env({ '1ABC': 'x' }), [`services[0].env["1ABC"]: ${POSIX}`]],
  [
    'env name with a dash (moby #35787)',
    env({ 'user-a-name': 'x' }),
    [`services[0].env["user-a-name"]: ${POSIX}`],
  ],
  ['env TASK_SCOPES', env({ TASK_SCOPES: '["*"]' }), [`services[0].env.TASK_SCOPES: ${INJECTED}`]],
  [
    'env TASK_ID, RUN_ID and TASKCLUSTER_PROXY_URL',
    env({ TASK_ID: 'x', RUN_ID: '0', TASKCLUSTER_PROXY_URL: 'http://evil' }),
    [
      `services[0].env.TASK_ID: ${INJECTED}`,
      `services[0].env.RUN_ID: ${INJECTED}`,
      `services[0].env.TASKCLUSTER_PROXY_URL: ${INJECTED}`,
    ],
  ],
  [
    'env TASKCLUSTER_ACCESS_TOKEN',
    env({ TASKCLUSTER_ACCESS_TOKEN: 'x' }),
    [`services[0].env.TASKCLUSTER_ACCESS_TOKEN: ${TC_PREFIX}`],
  ],
  ['env LD_PRELOAD', env({ LD_PRELOAD: '/tmp/evil.so' }), [`services[0].env.LD_PRELOAD: ${HIJACK}`]],
  [
    'loader and interpreter hooks',
    env({
      LD_LIBRARY_PATH: '/tmp',
      LD_AUDIT: 'x',
      NODE_OPTIONS: '--require=/x',
      PYTHONPATH: '/x',
      GLIBC_TUNABLES: 'x',
    }),
    [
      `services[0].env.LD_LIBRARY_PATH: ${HIJACK}`,
      `services[0].env.LD_AUDIT: ${HIJACK}`,
      `services[0].env.NODE_OPTIONS: ${HIJACK}`,
      `services[0].env.PYTHONPATH: ${HIJACK}`,
      `services[0].env.GLIBC_TUNABLES: ${HIJACK}`,
    ],
  ],
  [
    'env value is a number',
    env({ PORT: 5432 }),
    ['services[0].env.PORT: must be a string, not a number (fix: quote it)'],
  ],
  [
    'env value is null',
    env({ PORT: null }),
    ['services[0].env.PORT: must be a string, not null (fix: quote it)'],
  ],
  [
    'env value with NUL',
    env({ SECRET: 'a\0b' }),
    ['services[0].env.SECRET: contains a NUL character, which an environment cannot carry (fix: remove it)'],
  ],
  [
    '200 KiB value',
    env({ BIG: long(200 * KiB) }),
    [
      'services[0].env.BIG: value is 204800 bytes; at most 32768 bytes per value (fix: pass large data another way, e.g. an artifact or a secret fetched at run time)',
      'services[0].env: is 204804 bytes (NAME=value, all entries); at most 65536 bytes per service (fix: shorten the values)',
    ],
  ],
  [
    'too many env entries',
    env(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`V${i}`, 'x']))),
    ['services[0].env: has 65 variables; at most 64 per service (fix: set fewer)'],
  ],
  [
    'env over its total size',
    env({ A: long(30 * KiB), B: long(30 * KiB), C: long(30 * KiB) }),
    [
      'services[0].env: is 92166 bytes (NAME=value, all entries); at most 65536 bytes per service (fix: shorten the values)',
    ],
  ],
  [
    'too many services',
    { services: Array.from({ length: 17 }, (_, i) => svc({ name: `s${i}` })) },
    ['services: has 17 services; at most 16 per task (fix: run fewer services)'],
  ],
  [
    'health check is a string',
    { services: [svc({ healthCheck: 'redis-cli ping' })] },
    [
      'services[0].healthCheck: must be an object with command and optional interval, timeout, startPeriod, retries; got "redis-cli ping"',
    ],
  ],
  [
    'health check without command',
    { services: [svc({ healthCheck: { interval: 1 } })] },
    [
      'services[0].healthCheck.command: required field missing (fix: the probe to run, e.g. ["redis-cli", "ping"])',
    ],
  ],
  [
    'health check with an empty command',
    { services: [svc({ healthCheck: { command: [] } })] },
    [
      `services[0].healthCheck.command: must be a non-empty array of strings (the probe's argv); got [] ${HC_FIX}`,
    ],
  ],
  [
    'health check durations out of range',
    {
      services: [
        svc({ healthCheck: { command: ['true'], interval: -1, timeout: 0, startPeriod: 'x', retries: 1.5 } }),
      ],
    },
    [
      'services[0].healthCheck.interval: must be a number of seconds from 0.001 to 3600; got -1',
      'services[0].healthCheck.timeout: must be a number of seconds from 0.001 to 3600; got 0',
      'services[0].healthCheck.startPeriod: must be a number of seconds from 0 to 3600; got "x"',
      'services[0].healthCheck.retries: must be an integer from 1 to 100; got 1.5',
    ],
  ],
  [
    'health check numbers written as strings',
    { services: [svc({ healthCheck: { command: ['true'], interval: '5', retries: '3' } })] },
    [
      'services[0].healthCheck.interval: must be a number of seconds from 0.001 to 3600; got "5"',
      'services[0].healthCheck.retries: must be an integer from 1 to 100; got "3"',
    ],
  ],
  [
    'health check in Docker units',
    { services: [svc({ healthCheck: { test: ['CMD', 'true'], command: ['true'] } })] },
    [
      'services[0].healthCheck.test: unknown field; allowed: command, interval, timeout, startPeriod, retries',
    ],
  ],
  [
    'errors of several services, in service order',
    {
      services: [
        svc({ image: '-v /:/host alpine', privileged: true }),
        svc({ command: 'redis-server' }),
        {
          name: 'taskcluster',
          image: 'busybox',
          env: { LD_PRELOAD: '/x.so', TASK_SCOPES: '[]', 'A=B': 'x' },
        },
      ],
    },
    [
      `services[0].image: "-v /:/host alpine" is not an image reference: must not start with '-'; must not contain whitespace ${IMAGE_FIX}`,
      `services[0].privileged: ${ALLOWED}`,
      'services[1].name: "db" is already the name of services[0] (fix: give each service a unique name)',
      `services[1].command: must be an array of strings (Docker Cmd); got "redis-server" ${CMD_FIX}`,
      'services[2].name: "taskcluster" is reserved (fix: choose another name)',
      `services[2].env.LD_PRELOAD: ${HIJACK}`,
      `services[2].env.TASK_SCOPES: ${INJECTED}`,
      `services[2].env["A=B"]: ${POSIX}`,
    ],
  ],
];
