/**
 * `run`: the library driven by a supervisor, for a worker that cannot embed it (generic-worker, in
 * Go, starts it as a child process the way its `tcproxy` feature starts taskcluster-proxy). It is
 * `ServiceManager.start()`, then the session kept alive until SIGTERM/SIGINT, then `stop()`; the
 * files it writes (ready, failure, logs) are built in `run-files.ts`. docs/generic-worker.md is
 * the contract.
 */
import { join, resolve } from 'node:path';
import { compile } from '../../desired-state/compile.js';
import { ConfigError } from '../../desired-state/errors.js';
import type { WorkerConfig } from '../../desired-state/config.js';
import type { DesiredState } from '../../desired-state/types.js';
import {
  CredentialsError,
  decodeWorkerCredentials,
  type WorkerCredentials,
} from '../../credentials/proxy-credentials.js';
import { secretsOf } from '../../credentials/redact.js';
import type { DockerApi } from '../../docker/client.js';
import { ServiceStartError } from '../../library/errors.js';
import { ServiceManager } from '../../library/manager.js';
import type { ServiceEvent } from '../../library/phases.js';
import type { ServiceSession, SessionFailure } from '../../library/session.js';
import {
  DEFAULT_RUN_DEADLINE_H,
  DEFAULT_UP_TIMEOUT_S,
  outputOption,
  runIdOption,
  stringOption,
  type ParsedCommand,
} from '../args.js';
import { credentialsFromEnv, readJsonFile, workerConfigFrom } from '../context.js';
import { dockerFromEnv } from '../docker.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import { loadTaskInput } from '../input.js';
import type { CliIo, OutputStream } from '../io.js';
import { redacting } from '../redacting.js';
import {
  logFiles,
  readyFile,
  runningFailureFile,
  startupFailureFile,
  writeFileAtomically,
  type FailureFile,
} from '../run-files.js';
import { warningsLogger } from './up.js';

interface RunOptions {
  file: string;
  taskId: string;
  runId: number;
  taskNetwork: string | undefined;
  readyFile: string | undefined;
  failureFile: string | undefined;
  logsDir: string | undefined;
  credentialsFile: string | undefined;
  deadline: Date;
  output: 'text' | 'json';
}

export async function runCommand(parsed: ParsedCommand, io: CliIo): Promise<ExitCode> {
  // From here on a signal is this command's to handle: the teardown must not be cut short.
  const signals = watchSignals(io);
  try {
    return await supervise(parsed, io, signals);
  } finally {
    signals.close();
  }
}

/** What `run` settles before it creates anything; each refusal here leaves nothing behind. */
interface Prepared {
  options: RunOptions;
  config: WorkerConfig;
  credentials: WorkerCredentials | undefined;
  payload: unknown;
  scopes: string[];
  services: string[];
  docker: DockerApi;
}

async function supervise(parsed: ParsedCommand, io: CliIo, signals: Signals): Promise<ExitCode> {
  const prepared = await prepare(parsed, io);
  const { options, credentials } = prepared;
  // The file's secrets are not in the environment, which is all `main()` redacts; SIGHUP adds more.
  const fileSecrets = new Set(credentials && options.credentialsFile ? secretsOf(credentials) : []);
  const stdout = redactingLive(io.stdout, fileSecrets);
  const stderr = redactingLive(io.stderr, fileSecrets);
  const say = (line: string): void => void stderr.write(`docker-services run: ${line}\n`);

  const manager = new ServiceManager({
    docker: prepared.docker,
    config: prepared.config,
    ...(credentials ? { credentials } : {}),
    logger: warningsLogger({ ...io, stderr }),
  });
  signals.onHangup(async () => {
    if (options.credentialsFile === undefined) {
      say('SIGHUP: no --credentials-file to read again; nothing changed');
      return;
    }
    try {
      const fresh = await readCredentialsFile(options.credentialsFile, io);
      for (const secret of secretsOf(fresh)) fileSecrets.add(secret);
      const pushed = await manager.updateCredentials(fresh);
      say(`SIGHUP: new credentials pushed to ${pushed.length} proxy(ies)`);
    } catch (error) {
      // The proxies keep what they hold; the worker may send SIGHUP again once the file is right.
      say(`SIGHUP: credentials not updated: ${(error as Error).message}`);
    }
  });

  const owner = { taskId: options.taskId, runId: options.runId };
  let session: ServiceSession;
  try {
    session = await manager.start({
      ...owner,
      payload: prepared.payload,
      scopes: prepared.scopes,
      deadline: options.deadline,
      ...(options.taskNetwork !== undefined ? { taskNetwork: options.taskNetwork } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      onEvent: eventPrinter(stdout, options.output),
    });
  } catch (error) {
    if (!(error instanceof ServiceStartError)) throw error;
    // Stopped as asked before it was ready: nothing is left, and nothing failed.
    if (error.reason.kind === 'cancelled') {
      say('stopped before the services were ready; nothing of the task is left');
      return ExitCode.ok;
    }
    await writeFailure(options, startupFailureFile(error));
    say(error.message);
    return ExitCode.startupFailed;
  }

  let failure: SessionFailure | undefined;
  try {
    if (options.readyFile !== undefined) {
      const ready = readyFile(owner, await session.describeServices(), session.taskContainerOptions);
      await writeFileAtomically(options.readyFile, `${JSON.stringify(ready, null, 2)}\n`);
    }
    say(
      `${prepared.services.length} service(s) of task ${owner.taskId} run ${owner.runId} ready; SIGTERM removes them`,
    );
    failure = await untilStopOrFailure(session, io.signal);
  } catch (error) {
    // A ready file that cannot be written fails the run, and the services must not outlive it.
    await session.stop().catch(() => {});
    throw error;
  }
  say(
    failure
      ? `service ${failure.service} failed while the task ran; removing everything of the task`
      : 'stopping; removing everything of the task',
  );
  const stopped = await session.stop();
  if (options.logsDir !== undefined) {
    for (const [name, text] of Object.entries(logFiles(stopped)))
      await writeFileAtomically(join(options.logsDir, name), text);
  }
  if (failure) {
    await writeFailure(options, runningFailureFile(owner, failure, stopped));
    return ExitCode.serviceFailed;
  }
  say(`stopped; nothing of task ${owner.taskId} run ${owner.runId} is left`);
  return ExitCode.ok;
}

async function prepare(parsed: ParsedCommand, io: CliIo): Promise<Prepared> {
  const options = runOptions(parsed, io);
  const config = await workerConfigFrom(parsed, io, DEFAULT_UP_TIMEOUT_S);
  const credentials = options.credentialsFile
    ? await readCredentialsFile(options.credentialsFile, io)
    : credentialsFromEnv(io.env);
  const input = await loadTaskInput(options.file, io);
  // Compiled here as well as in start(): a bad payload is reported before Docker is contacted.
  const desired = compileForRun(input.payload, config, options, input.scopes);
  const services = [...new Set(desired.containers.map((c) => c.service))].sort();
  if (services.length > 0 && !credentials) {
    throw new InputError(
      "every service gets an auth proxy whose credentials are made from the worker's: set " +
        'TASKCLUSTER_CLIENT_ID and TASKCLUSTER_ACCESS_TOKEN (and TASKCLUSTER_CERTIFICATE for ' +
        'temporary credentials), or give --credentials-file',
    );
  }
  const { api } = dockerFromEnv(io.env);
  if (options.taskNetwork !== undefined && services.length > 0)
    await requireNetwork(api, options.taskNetwork);
  return {
    options,
    config,
    credentials,
    payload: input.payload,
    scopes: input.scopes,
    services,
    docker: api,
  };
}

function runOptions(parsed: ParsedCommand, io: CliIo): RunOptions {
  const { values } = parsed;
  const taskId = stringOption(values, 'task-id');
  if (taskId === undefined) throw new UsageError('--task-id is required: the task whose services these are');
  if (stringOption(values, 'run-id') === undefined)
    throw new UsageError('--run-id is required: the run whose services these are');
  const deadlineText = stringOption(values, 'deadline');
  const deadline =
    deadlineText === undefined
      ? new Date(Date.now() + DEFAULT_RUN_DEADLINE_H * 3_600_000)
      : new Date(deadlineText);
  if (Number.isNaN(deadline.getTime()) || deadline.getTime() <= Date.now())
    throw new UsageError(
      `--deadline must be a future ISO 8601 time, e.g. 2030-01-01T00:00:00Z; got "${deadlineText}"`,
    );
  const path = (name: string): string | undefined => {
    const value = stringOption(values, name);
    if (value === '') throw new UsageError(`--${name} must not be empty`);
    return value === undefined ? undefined : resolve(io.cwd, value);
  };
  return {
    file: parsed.positionals[0]!,
    taskId,
    runId: runIdOption(values),
    taskNetwork: stringOption(values, 'task-network'),
    readyFile: path('ready-file'),
    failureFile: path('failure-file'),
    logsDir: path('logs-dir'),
    credentialsFile: path('credentials-file'),
    deadline,
    output: outputOption(values),
  };
}

/** The worker's credentials from `--credentials-file`; the errors name the file and fields, never values. */
async function readCredentialsFile(path: string, io: CliIo): Promise<WorkerCredentials> {
  const json = await readJsonFile(path, io, '--credentials-file');
  try {
    return decodeWorkerCredentials(json);
  } catch (error) {
    if (error instanceof CredentialsError)
      throw new InputError(`--credentials-file ${path}: ${error.message}`);
    throw error;
  }
}

function compileForRun(
  payload: unknown,
  config: WorkerConfig,
  options: RunOptions,
  scopes: string[],
): DesiredState {
  try {
    return compile(payload, {
      config,
      taskId: options.taskId,
      runId: options.runId,
      scopes,
      ...(options.taskNetwork !== undefined ? { taskNetwork: options.taskNetwork } : {}),
    });
  } catch (error) {
    const problem =
      error instanceof ConfigError ? error.errors.find((e) => e.path === 'taskNetwork') : undefined;
    if (problem) throw new UsageError(`--task-network ${problem.message}`);
    if (error instanceof ConfigError)
      throw new UsageError(error.message.replace(/^invalid compile context/, 'invalid'));
    throw error;
  }
}

/** The worker makes its task network before it starts `run`; joining a missing one cannot work. */
async function requireNetwork(docker: DockerApi, name: string): Promise<void> {
  const network = await docker.inspectNetwork(name);
  if (!network || network.Name !== name)
    throw new InputError(
      `--task-network ${name}: no such network; the worker creates its task network before it starts run`,
    );
}

async function writeFailure(options: RunOptions, failure: FailureFile): Promise<void> {
  if (options.failureFile === undefined) return;
  await writeFileAtomically(options.failureFile, `${JSON.stringify(failure, null, 2)}\n`);
}

/** Resolves on SIGTERM/SIGINT (the abort), or with the failure once the session gives a service up. */
function untilStopOrFailure(
  session: ServiceSession,
  signal: AbortSignal | undefined,
): Promise<SessionFailure | undefined> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(undefined);
    signal?.addEventListener('abort', () => resolve(undefined), { once: true });
    if (session.state === 'failed') return resolve(session.failure);
    session.events$.subscribe((event) => {
      if (event.type === 'failed') resolve(session.failure);
    });
  });
}

/** One line per service event: the event as JSON, or a human line. */
function eventPrinter(stream: OutputStream, output: 'text' | 'json'): (event: ServiceEvent) => void {
  if (output === 'json') return (event) => stream.write(`${JSON.stringify(event)}\n`);
  return (event) => {
    const who = event.role === 'proxy' ? `${event.service} (proxy)` : event.service;
    let detail = '';
    if (event.type === 'died')
      detail = ` (exit code ${event.exitCode ?? 'unknown'}${event.oomKilled ? ', OOM-killed' : ''})`;
    else if (event.type === 'failed') detail = `: ${event.reason}`;
    else if (event.type === 'restarted') detail = ` (restart ${event.restarts})`;
    else if (event.type === 'pulling') detail = ` ${event.image}`;
    stream.write(`${event.time} ${who}: ${event.type}${detail}\n`);
  };
}

/** Redacts whatever `secrets` holds when a line is written (SIGHUP adds the new file's). */
function redactingLive(stream: OutputStream, secrets: ReadonlySet<string>): OutputStream {
  return { ...stream, write: (text: string) => redacting(stream, [...secrets]).write(text) };
}

interface Signals {
  /** Runs `reload` on each SIGHUP, one at a time in the order they came. */
  onHangup(reload: () => Promise<void>): void;
  close(): void;
}

/**
 * Keeps SIGTERM/SIGINT/SIGHUP from ending the process while `run` runs: the first SIGTERM or
 * SIGINT aborts `io.signal` (the bin's handler), and a later one only says that the teardown is
 * under way. SIGHUP's default would end the process too.
 */
function watchSignals(io: CliIo): Signals {
  let stops = 0;
  let reload: (() => Promise<void>) | undefined;
  let reloads = Promise.resolve();
  const stop = (): void => {
    stops++;
    if (stops > 1)
      io.stderr.write(
        'docker-services run: teardown under way, it goes on; SIGKILL abandons it (then `docker-services gc` removes what is left)\n',
      );
  };
  const hangup = (): void => {
    const next = reload;
    if (next) reloads = reloads.then(next);
  };
  const off = io.onSignal
    ? [io.onSignal('SIGTERM', stop), io.onSignal('SIGINT', stop), io.onSignal('SIGHUP', hangup)]
    : [];
  return {
    onHangup: (fn) => {
      reload = fn;
    },
    close: () => off.forEach((f) => f()),
  };
}
