/**
 * `up`: the library's `ServiceManager.start()`, with progress. It returns once every service is
 * ready, printing the create options the task container must merge; the services keep running
 * after this process exits. The CLI is not a supervisor: nothing restarts a service that dies
 * later (`plan` shows it, `down` removes everything).
 */
import { Writable } from 'node:stream';
import winston from 'winston';
import { compile } from '../../desired-state/compile.js';
import { ServiceManager } from '../../library/manager.js';
import type { ServiceEvent } from '../../library/phases.js';
import { DEFAULT_UP_TIMEOUT_S, type ParsedCommand } from '../args.js';
import { credentialsFromEnv, ownerOf, workerConfigFrom } from '../context.js';
import { dockerFromEnv } from '../docker.js';
import { ExitCode, InputError } from '../errors.js';
import { loadTaskInput } from '../input.js';
import type { CliIo } from '../io.js';
import { createProgress, type Progress } from '../progress.js';

/**
 * The proxies' credentials expire at the task deadline. The services outlive this command, so
 * the deadline is a day away rather than the end of the wait.
 */
const CREDENTIALS_LIFETIME_MS = 24 * 60 * 60 * 1000;

export async function upCommand(parsed: ParsedCommand, io: CliIo): Promise<ExitCode> {
  const { values } = parsed;
  const config = await workerConfigFrom(parsed, io, DEFAULT_UP_TIMEOUT_S);
  const input = await loadTaskInput(parsed.positionals[0]!, io);
  const { taskId, runId } = ownerOf(values);
  // Compiled here as well as in start(): a bad payload is reported before Docker is contacted.
  const desired = compile(input.payload, { config, taskId, runId, scopes: input.scopes });
  const services = [...new Set(desired.containers.map((c) => c.service))].sort();
  const credentials = credentialsFromEnv(io.env);
  // The root URL is the configuration's; without --config it can only come from the environment.
  const rootUrlGiven = values.config !== undefined || Boolean(io.env.TASKCLUSTER_ROOT_URL);
  if (services.length > 0 && (!credentials || !rootUrlGiven)) {
    throw new InputError(
      "every service gets an auth proxy whose credentials are made from the worker's: set " +
        'TASKCLUSTER_ROOT_URL, TASKCLUSTER_CLIENT_ID and TASKCLUSTER_ACCESS_TOKEN ' +
        '(and TASKCLUSTER_CERTIFICATE for temporary credentials)',
    );
  }

  const progress = createProgress(io.stderr, services);
  const manager = new ServiceManager({
    docker: dockerFromEnv(io.env).api,
    config,
    ...(credentials ? { credentials } : {}),
    logger: warningsLogger(io),
  });
  try {
    const session = await manager.start({
      taskId,
      runId,
      payload: input.payload,
      scopes: input.scopes,
      deadline: new Date(Date.now() + CREDENTIALS_LIFETIME_MS),
      ...(io.signal ? { signal: io.signal } : {}),
      onEvent: progressFromEvents(progress),
    });
    // The services stay; this process stops watching them (and may then exit on its own).
    await session.detach();
    for (const service of services) progress.update(service, 'ready');
    progress.done();
    io.stderr.write(
      `${services.length} service(s) of task ${taskId} run ${runId} ready; they keep running ` +
        `(\`docker-services down --task-id ${taskId} --run-id ${runId}\` removes them).\n` +
        'Create options for the task container (merge them into its own):\n',
    );
    io.stdout.write(`${JSON.stringify(session.taskContainerOptions, null, 2)}\n`);
    return ExitCode.ok;
  } finally {
    progress.done();
  }
}

/** How one service event shows in the progress display: the service's phase, and its proxy's. */
export function progressFromEvents(progress: Progress): (event: ServiceEvent) => void {
  const phases = { service: new Map<string, string>(), proxy: new Map<string, string>() };
  const meters = new Map<string, string>();
  return (event) => {
    phases[event.role].set(event.service, phaseOf(event));
    if (event.role === 'service') {
      if (event.type === 'pulling' && event.currentBytes !== undefined)
        meters.set(event.service, bytesMeter(event.currentBytes, event.totalBytes));
      else if (event.type !== 'pulling') meters.delete(event.service);
    }
    const proxy = phases.proxy.get(event.service);
    progress.update(
      event.service,
      phases.service.get(event.service) ?? 'pending',
      proxy ? `proxy ${proxy}` : undefined,
      meters.get(event.service),
    );
  };
}

/** `12.3 MB of 45.6 MB`, or `12.3 MB` while the total is unknown. */
export function bytesMeter(current: number, total?: number): string {
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  return total === undefined ? mb(current) : `${mb(current)} of ${mb(total)}`;
}

function phaseOf(event: ServiceEvent): string {
  switch (event.type) {
    case 'started':
    case 'restarted':
      return 'running';
    case 'died':
      return `exited${event.exitCode === undefined ? '' : ` (code ${event.exitCode}${event.oomKilled ? ', OOM' : ''})`}`;
    default:
      return event.type;
  }
}

/** Library warnings and errors as plain lines, where there is no redrawn display to break. */
export function warningsLogger(io: CliIo): winston.Logger {
  const entries = new Writable({
    objectMode: true,
    write(info: { level: string; message: unknown }, _encoding, next) {
      if ((info.level === 'warn' || info.level === 'error') && !io.stderr.isTTY) {
        io.stderr.write(`${info.level}: ${String(info.message)}\n`);
      }
      next();
    },
  });
  return winston.createLogger({
    level: 'warn',
    transports: [new winston.transports.Stream({ stream: entries })],
  });
}
