/**
 * The command line: one table of commands, each with its options (node's `util.parseArgs`) and its
 * help text with an example. Parsing only checks shape; what a value means is decided by the
 * command (and by the desired-state codecs, for everything that ends up in the graph).
 */
import { hostname } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, PayloadValidationError } from '../desired-state/errors.js';
import { ExitCode, InputError, UsageError } from './errors.js';

type OptionSpec = NonNullable<ParseArgsConfig['options']>[string];

/** A fixed slugid-shaped id, so that `plan`, `up` and `down` without flags talk about one task. */
export const DEFAULT_TASK_ID = 'DemoTaskQ0C0000000000A';
export const DEFAULT_RUN_ID = 0;
export const DEFAULT_PROVISIONER_ID = 'local';
export const DEFAULT_WORKER_TYPE = 'docker-services';
export const DEFAULT_PROXY_IMAGE = 'docker-services/proxy:latest';
export const DEFAULT_UP_TIMEOUT_S = 300;
/** `run` without `--deadline`: the proxies' credentials expire this long after it starts. */
export const DEFAULT_RUN_DEADLINE_H = 24;

export function defaultOwnerId(): string {
  // Owner ids end up in labels: keep them to label-safe characters.
  return `cli-${hostname().replace(/[^A-Za-z0-9_.-]/g, '-')}`;
}

const help: OptionSpec = { type: 'boolean', short: 'h' };
const output: OptionSpec = { type: 'string' };
const identity = {
  'task-id': { type: 'string' },
  'run-id': { type: 'string' },
  'owner-id': { type: 'string' },
} satisfies Record<string, OptionSpec>;
const worker = {
  config: { type: 'string' },
  'provisioner-id': { type: 'string' },
  'worker-type': { type: 'string' },
  'proxy-image': { type: 'string' },
  'pull-policy': { type: 'string' },
} satisfies Record<string, OptionSpec>;

const IDENTITY_HELP = `  --task-id ID          task id (default ${DEFAULT_TASK_ID})
  --run-id N            run id (default ${DEFAULT_RUN_ID})
  --owner-id ID         owner (worker) id written on every object (default cli-<hostname>)`;
const WORKER_HELP = `  --config FILE         the worker configuration (JSON, as a worker gives the library: ownerId,
                        provisionerId, workerType, rootUrl, proxy, images, registries, limits,
                        restart, startupTimeoutMs, concurrency); it says all of it, so it cannot
                        be combined with the flags below, --owner-id or --timeout
  --provisioner-id ID   provisioner id, part of each proxy's role scope (default ${DEFAULT_PROVISIONER_ID})
  --worker-type NAME    worker type, part of each proxy's role scope (default ${DEFAULT_WORKER_TYPE})
  --proxy-image REF     auth proxy image (default ${DEFAULT_PROXY_IMAGE})
  --pull-policy P       always (pull tags on every start; digests when missing), if-not-present or never
                        (default always)`;
const INPUT_HELP = `  FILE is a whole task definition (its "payload" and "scopes" are used) or a bare payload
  (an object with "services"); "-" reads it from stdin.`;

export interface CommandSpec {
  name: string;
  summary: string;
  positionals: { min: number; max: number };
  options: Record<string, OptionSpec>;
  help: string;
  /** The exit status of an error (default 1 for every error). */
  exitCodeOf?: (error: unknown) => ExitCode;
}

/** `run`'s: the worker's mistakes (64) apart from the task's (65); see `ExitCode`. */
function runExitCodeOf(error: unknown): ExitCode {
  if (error instanceof PayloadValidationError) return ExitCode.invalidPayload;
  if (error instanceof UsageError || error instanceof InputError || error instanceof ConfigError)
    return ExitCode.usage;
  return ExitCode.error;
}

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'plan',
    summary: 'print what up (or --down) would do; changes nothing',
    positionals: { min: 0, max: 1 },
    options: {
      help,
      output,
      offline: { type: 'boolean' },
      down: { type: 'boolean' },
      ...identity,
      ...worker,
    },
    help: `Usage: docker-services plan FILE [options]
       docker-services plan --down [options]

Prints the actions that would bring the engine to the task's services (or, with --down, to
nothing of the task), with the cause of each. It only reads: nothing is created, started or
removed, and no Docker write call is made.

${INPUT_HELP}

Options:
  --offline             plan against an empty engine without contacting Docker: no containers,
                        no networks and no images. So every image is planned as a pull, the
                        networks as creates, and each container waits for its image (a proxy's
                        scope names its service's image digest, unknown until the image is there)
  --down                plan the empty graph for the task (takes no FILE)
  --output text|json    text like \`terraform plan\` (default) or JSON
${IDENTITY_HELP}
${WORKER_HELP}

Exit status: 0 nothing to do; 2 changes planned (a restart waiting on its backoff counts);
1 error, or the plan is blocked (a name held by an object that is not ours, …).

Example:
  docker-services plan --offline fixtures/payloads/three-services.json
  docker-services plan task.json --task-id fN1SbArXTPSVFNUvaOlinQ --output json
`,
  },
  {
    name: 'up',
    summary: 'create and start the services, wait until every one is ready, then exit',
    positionals: { min: 1, max: 1 },
    options: { help, timeout: { type: 'string' }, ...identity, ...worker },
    help: `Usage: docker-services up FILE [options]

Converges the engine to the task's services: networks, service containers and their auth
proxies; waits until every service is ready (healthy where it has a health check, running
otherwise), prints the create options the task container must merge to join the task network
(JSON, on stdout), and exits. The services keep running: this command is not a supervisor and
does not restart a service that dies later. \`plan\` shows what changed; \`down\` removes
everything (then \`up\` starts afresh: an \`up\` that finds a dead service of its task fails
and removes the task's objects, as the library's start does).

Progress goes to stderr: one redrawn line per service on a terminal, plain lines otherwise.

${INPUT_HELP}

Options:
  --timeout SECONDS     give up (and remove what was made) after this long (default ${DEFAULT_UP_TIMEOUT_S})
${IDENTITY_HELP}
${WORKER_HELP}

Environment:
  TASKCLUSTER_ROOT_URL, TASKCLUSTER_CLIENT_ID, TASKCLUSTER_ACCESS_TOKEN, TASKCLUSTER_CERTIFICATE
                        the worker's credentials, from which each proxy's credentials are made
  DOCKER_HOST           unix:///path/to/docker.sock or tcp://host:port (default /var/run/docker.sock)

Example:
  docker-services up fixtures/payloads/three-services.json --task-id fN1SbArXTPSVFNUvaOlinQ
`,
  },
  {
    name: 'run',
    summary: 'start the services, keep them running until SIGTERM, then remove them (for a worker)',
    positionals: { min: 1, max: 1 },
    options: {
      help,
      output,
      'task-id': identity['task-id'],
      'run-id': identity['run-id'],
      'task-network': { type: 'string' },
      'ready-file': { type: 'string' },
      'failure-file': { type: 'string' },
      'logs-dir': { type: 'string' },
      'credentials-file': { type: 'string' },
      deadline: { type: 'string' },
      'owner-id': identity['owner-id'],
      timeout: { type: 'string' },
      ...worker,
    },
    exitCodeOf: runExitCodeOf,
    help: `Usage: docker-services run FILE --task-id ID --run-id N [options]

The supervising mode a worker starts before the task container and stops after it (the contract
is docs/generic-worker.md). It starts every service as \`up\` does and then keeps the reconcile
loop running: a service that dies is restarted by the worker configuration's restart policy, and
rotated credentials reach the live proxies. On SIGTERM or SIGINT it removes everything of the
task and exits.

${INPUT_HELP}

Options:
  --task-id ID          the task's id (required)
  --run-id N            the run's number (required)
  --task-network NAME   join this existing network (the worker's per-task network) instead of
                        making one: the services go on it with their aliases; it is not ours and
                        is never removed or relabelled. It must exist.
  --ready-file PATH     written (atomically) once every service is ready: the task network, each
                        service's name, alias, container id, image id and proxy role scope, the
                        create options for the task container and the \`docker run\` flags
  --failure-file PATH   written when a service fails to start or fails later: the service, phase,
                        reason (kind and fields) and its redacted log tail, as JSON
  --logs-dir DIR        at teardown, each service's log (SERVICE.log) and its proxy's
                        (SERVICE_proxy.log), bounded and redacted
  --credentials-file FILE
                        the worker's credentials as JSON {clientId, accessToken, certificate?},
                        instead of the environment; SIGHUP reads it again and pushes the new
                        credentials to the live proxies
  --deadline TIME       the task's deadline (ISO 8601): the proxies' credentials expire then
                        (default ${DEFAULT_RUN_DEADLINE_H} h from now)
  --output text|json    service events on stdout: human lines (default), or one JSON object per line
  --owner-id ID         owner (worker) id written on every object (default cli-<hostname>)
  --timeout SECONDS     give up starting after this long (default ${DEFAULT_UP_TIMEOUT_S})
${WORKER_HELP}
  (--owner-id, --provisioner-id, --worker-type, --proxy-image, --pull-policy and --timeout cannot
  be combined with --config, which says all of it.)

Environment:
  TASKCLUSTER_ROOT_URL, TASKCLUSTER_CLIENT_ID, TASKCLUSTER_ACCESS_TOKEN, TASKCLUSTER_CERTIFICATE
                        the worker's credentials (never on the command line), unless
                        --credentials-file is given
  DOCKER_HOST           unix:///path/to/docker.sock or tcp://host:port (default /var/run/docker.sock)

Signals:
  SIGTERM, SIGINT       remove everything of the task, then exit. Another one during that teardown
                        is ignored (the teardown goes on; SIGKILL abandons it, and then
                        \`docker-services gc\` removes what is left)
  SIGHUP                read --credentials-file again and push the credentials to the proxies

Exit status:
  0   stopped by SIGTERM/SIGINT; nothing of the task is left
  1   any other error (the engine away, a teardown that failed: \`gc\` removes what is left)
  3   a service failed to start (--failure-file says which and why); nothing of the task is left
  4   a service failed while the task ran and the restart policy gave up (--failure-file)
  64  the worker called run wrongly: the command line, --config, the credentials, a missing
      --task-network network; nothing was created
  65  the task's payload is invalid (every problem on stderr); nothing was created

Example:
  docker-services run task.json --task-id fN1SbArXTPSVFNUvaOlinQ --run-id 0 \\
    --task-network gw-task-fN1SbArXTPSV-0 --ready-file /tmp/ready.json --output json
`,
  },
  {
    name: 'down',
    summary: 'remove every container and network of a task (kills them at once)',
    positionals: { min: 0, max: 0 },
    options: { help, ...identity },
    help: `Usage: docker-services down [options]

Reconciles the empty graph for the task: every container of it is killed and removed, then its
networks. It needs only the ids: what belongs to the task is read from the objects' labels.

Options:
${IDENTITY_HELP}

Example:
  docker-services down --task-id fN1SbArXTPSVFNUvaOlinQ --run-id 0
`,
  },
  {
    name: 'gc',
    summary: 'remove what this owner left of tasks that are not active',
    positionals: { min: 0, max: 0 },
    options: {
      help,
      output,
      'dry-run': { type: 'boolean' },
      active: { type: 'string', multiple: true },
      'owner-id': identity['owner-id'],
    },
    help: `Usage: docker-services gc [--active TASK_ID]... [--dry-run] [options]

Removes every container and network of this owner whose task is not listed with --active (all
of them when none is). With --dry-run it prints the plan for each such task instead and changes
nothing (exit 2 when something would be removed, 0 when nothing).

Options:
  --active TASK_ID      a task whose objects are kept (repeatable)
  --dry-run             print what would be removed, change nothing
  --output text|json    for --dry-run (default text)
  --owner-id ID         owner (worker) id (default cli-<hostname>)

Example:
  docker-services gc --active fN1SbArXTPSVFNUvaOlinQ --dry-run
`,
  },
  {
    name: 'status',
    summary: "list this owner's tasks and the phase of each service",
    positionals: { min: 0, max: 0 },
    options: { help, output, 'owner-id': identity['owner-id'] },
    help: `Usage: docker-services status [options]

Lists the tasks this owner has objects of, and for each service its container's phase (created,
running, healthy, unhealthy, exited with its code, …) and its proxy's. Read only.

Options:
  --output text|json    (default text)
  --owner-id ID         owner (worker) id (default cli-<hostname>)

Example:
  docker-services status --owner-id cli-myhost
`,
  },
  {
    name: 'validate',
    summary: 'decode a payload and report every error in it; contacts nothing',
    positionals: { min: 1, max: 1 },
    options: { help, ...identity, ...worker },
    help: `Usage: docker-services validate FILE [options]

Decodes the payload's services and compiles them against the worker configuration, without
contacting Docker. Prints a one-line summary when it is valid (exit 0), or every error with its
JSON path on stderr (exit 1).

${INPUT_HELP}

Options:
${IDENTITY_HELP}
${WORKER_HELP}

Example:
  docker-services validate fixtures/payloads/three-services.json
`,
  },
  {
    name: 'schema',
    summary: 'print the JSON Schema of payload.services, for a host to validate payloads',
    positionals: { min: 0, max: 0 },
    options: { help },
    help: `Usage: docker-services schema

Prints, on stdout, the JSON Schema (draft-07, using only what draft-06 has too) of a payload's
"services" property at the default worker limits, for a host that validates payloads before
the worker sees them: d2g's docker-worker payload schema refuses unknown properties, so it must
list "services" (docs/d2g.md). The schema has no $ref and no $id: drop its "$schema" and paste it
under the host schema's "properties" as "services".

It states every rule the worker applies except three that JSON Schema cannot express: unique
service names, byte (not character) caps on values and arguments, and a service's total
environment size. The worker still refuses those when the task starts, naming the path.
Contacts nothing.

Example:
  docker-services schema > services.schema.json
`,
  },
];

export const MAIN_HELP = `Usage: docker-services <command> [options]

Service containers (and their auth proxies) for Taskcluster docker-worker tasks, converged by a
reconciler over the Docker API.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)}${c.summary}`).join('\n')}

Run \`docker-services <command> --help\` for a command's options and an example.

Example:
  docker-services plan --offline fixtures/payloads/three-services.json
`;

export interface ParsedCommand {
  command: CommandSpec;
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseCommandLine(argv: readonly string[]): ParsedCommand | 'help' {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') return 'help';
  const command = COMMANDS.find((c) => c.name === name);
  if (!command)
    throw new UsageError(`unknown command "${name}"; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], options: command.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(
      (error as Error).message.replace(/\. To specify a positional.*$/s, ''),
      command.name,
    );
  }
  const values = parsed.values as ParsedCommand['values'];
  if (!values.help) {
    const n = parsed.positionals.length;
    if (n < command.positionals.min)
      throw new UsageError('missing FILE (a path, or - for stdin)', command.name);
    if (n > command.positionals.max)
      throw new UsageError(
        `unexpected argument "${parsed.positionals[command.positionals.max]}"`,
        command.name,
      );
  }
  return { command, values, positionals: parsed.positionals };
}

export function stringOption(values: ParsedCommand['values'], name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function outputOption(values: ParsedCommand['values']): 'text' | 'json' {
  const value = stringOption(values, 'output') ?? 'text';
  if (value !== 'text' && value !== 'json')
    throw new UsageError(`--output must be text or json, not "${value}"`);
  return value;
}

export function runIdOption(values: ParsedCommand['values']): number {
  const raw = stringOption(values, 'run-id');
  if (raw === undefined) return DEFAULT_RUN_ID;
  // Taskcluster run ids are 0…49; anything that is not a plain small integer is a typo.
  if (!/^\d{1,2}$/.test(raw)) throw new UsageError(`--run-id must be a run number (0, 1, …), not "${raw}"`);
  return Number(raw);
}

export function secondsOption(values: ParsedCommand['values'], name: string, fallback: number): number {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  const seconds = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !(seconds > 0))
    throw new UsageError(`--${name} must be a number of seconds, not "${raw}"`);
  return seconds;
}
