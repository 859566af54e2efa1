/**
 * `main(argv, io)`: the whole CLI as a function from arguments and streams to an exit code. The
 * bin (`main.ts`) only hands it the process; tests call it in-process with captured streams.
 * Every failure ends here: one message on stderr, exit 1; stdout carries only the command's result.
 */
import { COMMANDS, MAIN_HELP, parseCommandLine, type ParsedCommand } from './args.js';
import { ExitCode, InputError, UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { redacting } from './redacting.js';

export type CommandHandler = (parsed: ParsedCommand, io: CliIo) => Promise<ExitCode>;

/** Loaded on demand: `--help`, `validate` and `schema` must not pay for (or depend on) the Docker stack. */
const HANDLERS: Record<string, () => Promise<CommandHandler>> = {
  plan: async () => (await import('./commands/plan.js')).planCommand,
  up: async () => (await import('./commands/up.js')).upCommand,
  down: async () => (await import('./commands/down.js')).downCommand,
  gc: async () => (await import('./commands/gc.js')).gcCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  validate: async () => (await import('./commands/validate.js')).validateCommand,
  schema: async () => (await import('./commands/schema.js')).schemaCommand,
  run: async () => (await import('./commands/run.js')).runCommand,
};

export async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const guarded: CliIo = {
    ...io,
    stdout: redacting(io.stdout, secretsOf(io.env)),
    stderr: redacting(io.stderr, secretsOf(io.env)),
  };
  let parsed: ParsedCommand | 'help' | undefined;
  try {
    parsed = parseCommandLine(argv);
    if (parsed === 'help') {
      guarded.stdout.write(MAIN_HELP);
      return argv.length === 0 ? ExitCode.error : ExitCode.ok;
    }
    if (parsed.values.help) {
      guarded.stdout.write(parsed.command.help);
      return ExitCode.ok;
    }
    const handler = await HANDLERS[parsed.command.name]!();
    return await handler(parsed, guarded);
  } catch (error) {
    const command =
      parsed === 'help'
        ? undefined
        : (parsed?.command ?? COMMANDS.find((c) => error instanceof UsageError && c.name === error.command));
    guarded.stderr.write(describeError(error, command?.name, io.env));
    return command?.exitCodeOf?.(error) ?? ExitCode.error;
  }
}

function describeError(error: unknown, command: string | undefined, env: CliIo['env']): string {
  if (error instanceof UsageError) {
    const name = error.command ?? command;
    const where = name ? `docker-services ${name}` : 'docker-services';
    const helpHint =
      name && COMMANDS.some((c) => c.name === name) ? `${where} --help` : 'docker-services --help';
    return `${where}: ${error.message}\nRun \`${helpHint}\` for usage.\n`;
  }
  const prefix = command ? `docker-services ${command}: ` : 'docker-services: ';
  if (error instanceof InputError) return `${prefix}${error.message}\n`;
  const err = error instanceof Error ? error : new Error(String(error));
  let text = `${prefix}${err.message}\n`;
  const hint = dockerHint(err, command, env);
  if (hint) text += `${hint}\n`;
  if (env.DS_DEBUG && err.stack) text += `${err.stack}\n`;
  return text;
}

/** A refused or missing socket is the usual first-run problem: say where we looked. */
function dockerHint(error: Error, command: string | undefined, env: CliIo['env']): string | undefined {
  if (!/ECONNREFUSED|ENOENT|EACCES|connect /.test(error.message)) return undefined;
  if (!/docker|container|network|image|info|events|sock/i.test(error.message)) return undefined;
  const where = env.DOCKER_HOST
    ? `DOCKER_HOST=${env.DOCKER_HOST}`
    : 'the default socket /var/run/docker.sock';
  const offline = command === 'plan' ? '; `plan --offline` needs no engine' : '';
  return `Is the Docker engine running and reachable at ${where}? (\`docker info\` should answer${offline})`;
}

/**
 * The worker's credentials are in this process's environment; nothing we print may contain them,
 * whatever a library error message says.
 */
function secretsOf(env: CliIo['env']): string[] {
  return [env.TASKCLUSTER_ACCESS_TOKEN, env.TASKCLUSTER_CERTIFICATE].filter(
    (value): value is string => typeof value === 'string',
  );
}
