/**
 * The one narrow client through which docker-services talks to the Docker engine.
 *
 * Every call has a deadline: dockerd 20.10 has been seen to stop answering (`network ls`,
 * `rm -f`) after heavy churn, and a hung daemon must surface as a `DockerTimeoutError`, never as
 * a hang. The deadline aborts the HTTP request (docker-modem honours `abortSignal`) and, should the
 * modem not notice, the returned promise rejects anyway.
 *
 * The types are Docker's wire format (as typed by @types/dockerode); `src/observed-state` maps them
 * into our own. The in-memory Docker model of the property tests implements this same interface.
 */
import type Docker from 'dockerode';
import type { Readable } from 'node:stream';

export type ContainerSummary = Docker.ContainerInfo;
export type ContainerInspect = Docker.ContainerInspectInfo;
export type NetworkInspect = Docker.NetworkInspectInfo;
export type ImageInspect = Docker.ImageInspectInfo;
export type ContainerCreateOptions = Docker.ContainerCreateOptions;
export type NetworkCreateOptions = Docker.NetworkCreateOptions;

/** Docker's list filters, e.g. `{ label: ['a=b'], name: ['ds-'] }`. */
export type Filters = Record<string, string[]>;

export interface DockerApi {
  /** Daemon time (`/info` SystemTime), ISO 8601. */
  systemTime(): Promise<string>;
  listContainers(filters: Filters): Promise<ContainerSummary[]>;
  /** Undefined when there is no such container (404). */
  inspectContainer(idOrName: string): Promise<ContainerInspect | undefined>;
  createContainer(options: ContainerCreateOptions): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** Force-remove (kill at once) with anonymous volumes. */
  removeContainer(id: string): Promise<void>;
  killContainer(id: string, signal?: string): Promise<void>;
  /** `since`: daemon time, Unix seconds (a `seconds.nanoseconds` string keeps the nanoseconds). */
  containerLogs(id: string, options: { tail?: number; since?: number | string }): Promise<string>;
  /**
   * The container's log from `since` (daemon time: RFC 3339 or Unix seconds) on, followed as it is
   * written: the raw stream, stdout and stderr framed as Docker sends them for a container without
   * a TTY (`LogFrames` reads it). It ends when the container stops; the caller destroys it sooner.
   */
  followLogs(id: string, since: string): Promise<Readable>;
  listNetworks(filters: Filters): Promise<NetworkInspect[]>;
  inspectNetwork(idOrName: string): Promise<NetworkInspect | undefined>;
  createNetwork(options: NetworkCreateOptions): Promise<string>;
  removeNetwork(id: string): Promise<void>;
  connectNetwork(network: string, container: string, aliases: string[]): Promise<void>;
  disconnectNetwork(network: string, container: string): Promise<void>;
  inspectImage(ref: string): Promise<ImageInspect | undefined>;
  /**
   * Pulls `ref`, with `auth` when given (sent in the `X-Registry-Auth` header, never logged).
   * Fails with a `DockerStallError` when `stallMs` pass without a line of progress; its overall
   * deadline is `totalMs` (default: the client's slow deadline).
   */
  pullImage(ref: string, options?: PullOptions): Promise<void>;
  /**
   * `docker load` of an image tarball (`docker save` format, uncompressed); resolves with what the
   * engine says it loaded: `name:tag` references and, for untagged images, `sha256:` ids. A
   * tarball that fails (its source broke off) aborts the load: the engine would otherwise wait
   * for the rest of the body until the deadline. So does `signal`.
   */
  loadImage(tarball: Readable, options?: { totalMs?: number; signal?: AbortSignal }): Promise<string[]>;
  /** Tags image `id` as `repo:tag` (moving the tag if it named another image). */
  tagImage(id: string, repo: string, tag: string): Promise<void>;
  /** The raw `/events` byte stream; frame it with `src/observed-state/frames.ts`. */
  events(options: { since?: string; filters?: Filters }): Promise<Readable>;
  /**
   * Runs `cmd` in running container `id` with `input` on its stdin and resolves, once it has
   * exited, with its exit code and its output (stdout and stderr in order). Secrets go in `input`:
   * an exec's command line is shown by `docker inspect` and `ps`, its stdin by nothing.
   */
  execWithInput(id: string, cmd: readonly string[], input: string): Promise<ExecResult>;
}

export interface ExecResult {
  exitCode: number;
  output: string;
}

export interface PullOptions {
  auth?: { username: string; password: string; serveraddress: string };
  /** Bytes done and total, summed over the layers the engine has reported so far. */
  onProgress?: (progress: { currentBytes: number; totalBytes?: number }) => void;
  stallMs?: number;
  totalMs?: number;
}

/** A pull or a download that made no progress for `stallMs`: the other end accepted and went quiet. */
export class DockerStallError extends Error {
  override readonly name = 'DockerStallError';
  constructor(
    readonly operation: string,
    readonly stallMs: number,
  ) {
    super(`${operation} made no progress for ${stallMs} ms`);
  }
}

export class DockerTimeoutError extends Error {
  override readonly name = 'DockerTimeoutError';
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`Docker did not answer ${operation} within ${timeoutMs} ms`);
  }
}

/** An error the engine answered with; `statusCode` is what callers branch on, never the text. */
export class DockerApiError extends Error {
  override readonly name: string = 'DockerApiError';
  constructor(
    readonly operation: string,
    readonly statusCode: number | undefined,
    message: string,
  ) {
    super(`${operation}: ${message}`);
  }
}

/**
 * The engine could not be reached, or closed the connection before it had answered: its socket is
 * missing or refuses (dockerd stopped or restarting) or the connection was reset. It says nothing
 * about the call itself; whether the engine did the work is unknown, as after a timeout. A
 * `DockerApiError` without a status, so that whoever catches those still catches it.
 */
export class DockerUnreachableError extends DockerApiError {
  override readonly name: string = 'DockerUnreachableError';
  constructor(
    operation: string,
    /** The socket error: `ECONNREFUSED`, `ENOENT` (no socket), `ECONNRESET` (`socket hang up`), … */
    readonly code: string,
    message: string,
  ) {
    super(operation, undefined, message);
  }
}

/** Socket errors of a connection to the engine, not of the request it carried. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

export function statusCodeOf(error: unknown): number | undefined {
  if (error instanceof DockerApiError) return error.statusCode;
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export interface DockerClientOptions {
  /** Deadline of one ordinary call. */
  timeoutMs?: number;
  /** Deadline of a call that may legitimately take long (pull, remove of a big container). */
  slowTimeoutMs?: number;
}

export function dockerApi(docker: Docker, options: DockerClientOptions = {}): DockerApi {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const slowTimeoutMs = options.slowTimeoutMs ?? 120_000;

  /**
   * `ids` are the ids or names the call puts in its path: an empty one would turn
   * `/networks/{id}` into the list endpoint (an array where one network was expected), so it is
   * refused before anything is sent.
   */
  async function call<T>(
    operation: string,
    ms: number,
    ids: readonly string[],
    run: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    if (ids.includes('')) throw new DockerApiError(operation, 400, 'empty id or name');
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new DockerTimeoutError(operation, ms));
      }, ms);
    });
    try {
      return await Promise.race([run(controller.signal), deadline]);
    } catch (error) {
      if (error instanceof DockerTimeoutError || error instanceof DockerStallError) throw error;
      if (controller.signal.aborted) throw new DockerTimeoutError(operation, ms);
      const statusCode = statusCodeOf(error);
      const json = (error as { json?: { message?: string } }).json;
      const message = json?.message ?? (error as Error).message ?? String(error);
      const code = (error as { code?: unknown } | null)?.code;
      if (statusCode === undefined && typeof code === 'string' && UNREACHABLE_CODES.has(code))
        throw new DockerUnreachableError(operation, code, message);
      throw new DockerApiError(operation, statusCode, message);
    } finally {
      clearTimeout(timer);
    }
  }

  async function orUndefinedOn404<T>(promise: Promise<T>): Promise<T | undefined> {
    try {
      return await promise;
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }

  return {
    systemTime: () =>
      call('info', timeoutMs, [], async (abortSignal) => {
        const info = await loose<{ info(o: object): Promise<{ SystemTime?: string }> }>(docker).info({
          abortSignal,
        });
        return info.SystemTime ?? new Date().toISOString();
      }),
    listContainers: (filters) =>
      call('container list', timeoutMs, [], (abortSignal) =>
        docker.listContainers({ all: true, filters: JSON.stringify(filters), abortSignal }),
      ),
    inspectContainer: (idOrName) =>
      orUndefinedOn404(
        call(`container inspect ${idOrName}`, timeoutMs, [idOrName], (abortSignal) =>
          docker.getContainer(idOrName).inspect({ abortSignal }),
        ),
      ),
    createContainer: (createOptions) =>
      call(`container create ${createOptions.name ?? ''}`, timeoutMs, [], async (abortSignal) => {
        const container = await docker.createContainer({ ...createOptions, abortSignal });
        return container.id;
      }),
    startContainer: (id) =>
      call(`container start ${id}`, timeoutMs, [id], async (abortSignal) => {
        await docker.getContainer(id).start({ abortSignal });
      }),
    removeContainer: (id) =>
      call(`container remove ${id}`, slowTimeoutMs, [id], async (abortSignal) => {
        await docker.getContainer(id).remove({ force: true, v: true, abortSignal });
      }),
    killContainer: (id, signal = 'SIGKILL') =>
      call(`container kill ${id}`, timeoutMs, [id], async (abortSignal) => {
        await docker.getContainer(id).kill({ signal, abortSignal } as object);
      }),
    containerLogs: (id, logOptions) =>
      call(`container logs ${id}`, timeoutMs, [id], async (abortSignal) => {
        const raw = (await docker.getContainer(id).logs({
          stdout: true,
          stderr: true,
          follow: false,
          tail: logOptions.tail ?? 'all',
          since: logOptions.since ?? 0,
          abortSignal,
        } as Docker.ContainerLogsOptions & { follow: false })) as unknown as Buffer;
        return demuxLogs(raw);
      }),
    followLogs: (id, since) =>
      call(`container logs ${id}`, timeoutMs, [id], async (abortSignal) => {
        // As with `events`: the deadline covers the connection only, not the stream returned.
        const stream = (await docker.getContainer(id).logs({
          stdout: true,
          stderr: true,
          follow: true,
          since,
          abortSignal,
        } as unknown as Docker.ContainerLogsOptions & { follow: true })) as unknown as Readable;
        if (abortSignal.aborted) stream.destroy();
        return stream;
      }),
    execWithInput: (id, cmd, input) =>
      call(`container exec ${id} ${cmd[0] ?? ''}`, timeoutMs, [id], async (abortSignal) => {
        const exec = await docker.getContainer(id).exec({
          Cmd: [...cmd],
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          abortSignal,
        });
        const stream = await exec.start({ hijack: true, stdin: true });
        abortSignal.addEventListener('abort', () => stream.destroy(), { once: true });
        const chunks: Buffer[] = [];
        const ended = new Promise<void>((resolve, reject) => {
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', reject);
        });
        // Ending our side closes the process's stdin: it reads the input to its end.
        stream.end(input);
        await ended;
        const inspected = await exec.inspect({ abortSignal });
        return { exitCode: inspected.ExitCode ?? -1, output: demuxLogs(Buffer.concat(chunks)) };
      }),
    listNetworks: (filters) =>
      call('network list', timeoutMs, [], (abortSignal) =>
        docker.listNetworks({ filters: JSON.stringify(filters), abortSignal } as Docker.NetworkListOptions),
      ),
    inspectNetwork: (idOrName) =>
      orUndefinedOn404(
        call(`network inspect ${idOrName}`, timeoutMs, [idOrName], (abortSignal) =>
          loose<{ inspect(o: object): Promise<NetworkInspect> }>(docker.getNetwork(idOrName)).inspect({
            abortSignal,
          }),
        ),
      ),
    // dockerd makes networks one at a time: under load a create waits its turn, and one given up
    // on too early still lands, while its retry, racing it, can make a second of the same name.
    createNetwork: (createOptions) =>
      call(`network create ${createOptions.Name}`, slowTimeoutMs, [], async (abortSignal) => {
        const network = await docker.createNetwork({ ...createOptions, abortSignal });
        return network.id;
      }),
    removeNetwork: (id) =>
      call(`network remove ${id}`, timeoutMs, [id], async (abortSignal) => {
        await docker.getNetwork(id).remove({ abortSignal });
      }),
    connectNetwork: (network, container, aliases) =>
      call(
        `network connect ${container} to ${network}`,
        timeoutMs,
        [container, network],
        async (abortSignal) => {
          await docker
            .getNetwork(network)
            .connect({ Container: container, EndpointConfig: { Aliases: aliases }, abortSignal } as object);
        },
      ),
    disconnectNetwork: (network, container) =>
      call(
        `network disconnect ${container} from ${network}`,
        timeoutMs,
        [container, network],
        async (abortSignal) => {
          await docker.getNetwork(network).disconnect({ Container: container, Force: true, abortSignal });
        },
      ),
    inspectImage: (ref) =>
      orUndefinedOn404(
        call(
          `image inspect ${ref}`,
          timeoutMs,
          [ref],
          (abortSignal) => docker.getImage(ref).inspect({ abortSignal } as object) as Promise<ImageInspect>,
        ),
      ),
    pullImage: (ref, pullOptions = {}) =>
      call(`image pull ${ref}`, pullOptions.totalMs ?? slowTimeoutMs, [ref], async (abortSignal) => {
        const watch = new StallWatch(`image pull ${ref}`, pullOptions.stallMs, abortSignal);
        try {
          // dockerd sends its answer's headers only with the first line of progress: a registry
          // that never answers stalls the request itself, before any stream exists.
          const stream = (await watch.race(
            docker.pull(ref, {
              abortSignal: watch.signal,
              ...(pullOptions.auth ? { authconfig: pullOptions.auth } : {}),
            }) as Promise<Readable>,
          )) as Readable;
          const progress = new PullProgressTally();
          const lines = await watch.race(
            followProgress(docker, stream, (line) => {
              watch.touch();
              if (progress.add(line)) pullOptions.onProgress?.(progress.current());
            }),
          );
          // dockerd answers 200 once it has written any progress, so a failure after that (a
          // manifest list without this platform, a blob the registry lacks) is a line with
          // `error`, which followProgress hands back as output rather than as an error.
          const failure = lines.find((line) => line.error !== undefined || line.errorDetail !== undefined);
          if (failure) throw new Error(failure.errorDetail?.message ?? failure.error ?? 'pull failed');
        } finally {
          watch.stop();
        }
      }),
    loadImage: (tarball, loadOptions = {}) =>
      call('image load', loadOptions.totalMs ?? slowTimeoutMs, [], async (abortSignal) => {
        const load = new AbortController();
        const abort = () => load.abort();
        abortSignal.addEventListener('abort', abort, { once: true });
        loadOptions.signal?.addEventListener('abort', abort, { once: true });
        if (loadOptions.signal?.aborted) load.abort();
        load.signal.addEventListener('abort', () => tarball.destroy(), { once: true });
        const broken = new Promise<never>((_, reject) =>
          tarball.once('error', (error) => {
            load.abort();
            reject(error);
          }),
        );
        broken.catch(() => {});
        const stream = (await Promise.race([
          docker.loadImage(tarball, { quiet: true, abortSignal: load.signal } as object),
          broken,
        ])) as Readable;
        const lines = await Promise.race([followProgress(docker, stream, () => undefined), broken]);
        const failure = lines.find((line) => line.error !== undefined || line.errorDetail !== undefined);
        if (failure) throw new Error(failure.errorDetail?.message ?? failure.error ?? 'load failed');
        // "Loaded image: name:tag" for each tag, "Loaded image ID: sha256:…" for an untagged image.
        return lines
          .map((line) => /^Loaded image(?: ID)?: (\S+)/.exec((line.stream ?? line.status ?? '').trim())?.[1])
          .filter((loaded): loaded is string => loaded !== undefined);
      }),
    tagImage: (id, repo, tag) =>
      call(`image tag ${id} ${repo}:${tag}`, timeoutMs, [id, repo, tag], async (abortSignal) => {
        await loose<{ tag(o: object): Promise<unknown> }>(docker.getImage(id)).tag({
          repo,
          tag,
          abortSignal,
        });
      }),
    events: (eventOptions) =>
      call('events', timeoutMs, [], async (abortSignal) => {
        // The deadline covers only the connection: `call` clears it once the stream is returned, so
        // the signal never fires on a stream the caller holds, which stays open until closed.
        const query: Record<string, string | AbortSignal> = { abortSignal };
        if (eventOptions.since) query.since = eventOptions.since;
        if (eventOptions.filters) query.filters = JSON.stringify(eventOptions.filters);
        const stream = (await docker.getEvents(query as Docker.GetEventsOptions)) as unknown as Readable;
        // The caller already has its DockerTimeoutError and nobody else holds this stream: left
        // open, its socket would leak once per timed-out reconnect.
        if (abortSignal.aborted) stream.destroy();
        return stream;
      }),
  };
}

/** One line of the progress stream of `POST /images/create` or `POST /images/load`. */
interface PullProgress {
  status?: string;
  stream?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/** Follows a progress stream to its end, handing each line to `onLine` as it comes. */
function followProgress(
  docker: Docker,
  stream: Readable,
  onLine: (line: PullProgress) => void,
): Promise<PullProgress[]> {
  return new Promise<PullProgress[]>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, output: PullProgress[]) => (error ? reject(error) : resolve(output)),
      onLine,
    );
  });
}

/**
 * Aborts a request that makes no progress for `stallMs` (each `touch()` is progress), or when
 * `outer` aborts. `race()` rejects with a `DockerStallError` once it has stalled. Without
 * `stallMs` it only follows `outer`.
 */
export class StallWatch {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly stalled: Promise<never>;
  private fail: (error: Error) => void = () => {};

  constructor(
    private readonly operation: string,
    private readonly stallMs: number | undefined,
    outer: AbortSignal,
  ) {
    this.stalled = new Promise<never>((_, reject) => (this.fail = reject));
    // Nobody may be racing when it fires: the rejection is handled here, and seen through race().
    this.stalled.catch(() => {});
    if (outer.aborted) this.controller.abort();
    else outer.addEventListener('abort', () => this.controller.abort(), { once: true });
    this.touch();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    if (this.stallMs === undefined || this.controller.signal.aborted) return;
    const stallMs = this.stallMs;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fail(new DockerStallError(this.operation, stallMs));
      this.controller.abort();
    }, stallMs);
  }

  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.stalled]);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

/**
 * Bytes of a pull, summed over layers: a layer counts its `Downloading` progress, and its whole
 * size once complete. What is reported never goes down (a layer's retry starts again from zero).
 */
export class PullProgressTally {
  private readonly layers = new Map<string, { current: number; total?: number }>();
  private reported = -1;

  /** Takes one line; true when the bytes done grew. */
  add(line: PullProgress): boolean {
    const id = line.id;
    if (id === undefined) return false;
    const layer = this.layers.get(id) ?? { current: 0 };
    const detail = line.progressDetail ?? {};
    if (line.status === 'Downloading') {
      if (typeof detail.current === 'number') layer.current = Math.max(layer.current, detail.current);
      if (typeof detail.total === 'number' && detail.total > 0) layer.total = detail.total;
    } else if (line.status === 'Download complete' && layer.total !== undefined) {
      layer.current = layer.total;
    } else return false;
    this.layers.set(id, layer);
    const { currentBytes } = this.current();
    if (currentBytes <= this.reported) return false;
    this.reported = currentBytes;
    return true;
  }

  current(): { currentBytes: number; totalBytes?: number } {
    let currentBytes = 0;
    let totalBytes: number | undefined = 0;
    for (const layer of this.layers.values()) {
      currentBytes += layer.current;
      totalBytes =
        layer.total === undefined || totalBytes === undefined ? undefined : totalBytes + layer.total;
    }
    return totalBytes === undefined ? { currentBytes } : { currentBytes, totalBytes };
  }
}

/** @types/dockerode 4 lags dockerode 5: some calls take `abortSignal` that the types do not list. */
function loose<T>(value: unknown): T {
  return value as T;
}

/**
 * Docker multiplexes stdout and stderr of a container without a tty into frames of
 * [stream, 0, 0, 0, size (4 bytes BE), payload]; a tty container's log is the plain bytes.
 */
export function demuxLogs(raw: Buffer | string): string {
  if (typeof raw === 'string') return raw;
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const stream = raw[offset];
    if (stream !== 0 && stream !== 1 && stream !== 2) return raw.toString('utf8');
    const size = raw.readUInt32BE(offset + 4);
    chunks.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  if (offset !== raw.length && chunks.length === 0) return raw.toString('utf8');
  return Buffer.concat(chunks).toString('utf8');
}
