/**
 * A real registry for the image tests: Debian's `docker-registry` (distribution 2.8), started on a
 * free loopback port with htpasswd auth (bcrypt: the only hash distribution 2.8 accepts), and
 * stopped after. The engine treats 127.0.0.0/8 registries as insecure, so it speaks plain HTTP.
 * `scripts/prepare.sh` installs the package and `htpasswd` (apache2-utils).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dockerCli, dockerode, testLabels } from './docker.js';

const exec = promisify(execFile);

export interface TestRegistry {
  /** `127.0.0.1:<port>`, as image references and the worker's `registries` name it. */
  host: string;
  username: string;
  password: string;
  /** Tags `localRef` as `<host>/<repository>` and pushes it with the login; resolves with the pushed reference. */
  push(localRef: string, repository: string): Promise<string>;
  stop(): Promise<void>;
}

/** A port nobody listens on now (the registry binds it right after). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startRegistry(
  username = 'ds-test',
  password = `pw-${Date.now()}-secret`,
): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'ds-registry-'));
  const { stdout } = await exec('htpasswd', ['-nbB', username, password]);
  await writeFile(join(dir, 'htpasswd'), stdout);
  let child: ChildProcess | undefined;
  let host = '';
  let log = '';
  // Another process may take the free port between our look and the registry's bind: try again.
  for (let attempt = 0; attempt < 5 && !host; attempt++) {
    const port = await freePort();
    await writeFile(
      join(dir, 'config.yml'),
      [
        'version: 0.1',
        'log: { level: warn }',
        `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }`,
        `http: { addr: "127.0.0.1:${port}" }`,
        `auth: { htpasswd: { realm: ds-test, path: ${join(dir, 'htpasswd')} } }`,
        '',
      ].join('\n'),
    );
    child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<boolean>((resolve) => child!.once('exit', () => resolve(false)));
    const up = (async () => {
      for (let i = 0; i < 200; i++) {
        const status = await fetch(`http://127.0.0.1:${port}/v2/`).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 401) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    })();
    if (await Promise.race([up, exited])) host = `127.0.0.1:${port}`;
    else child.kill('SIGKILL');
  }
  if (!host || !child) throw new Error(`docker-registry did not start: ${log}`);
  const registry = child;
  const auth = { username, password, serveraddress: host };
  return {
    host,
    username,
    password,
    async push(localRef, repository) {
      const ref = `${host}/${repository}`;
      await dockerCli('tag', localRef, ref);
      const stream = await dockerode().getImage(ref).push({ authconfig: auth });
      const lines = await new Promise<{ error?: string }[]>((resolve, reject) =>
        dockerode().modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) =>
          error ? reject(error) : resolve(output),
        ),
      );
      const failure = lines.find((line) => line.error !== undefined);
      if (failure) throw new Error(`push ${ref}: ${failure.error}`);
      return ref;
    },
    async stop() {
      registry.kill('SIGTERM');
      await new Promise((resolve) =>
        registry.exitCode !== null ? resolve(undefined) : registry.once('exit', resolve),
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An image like `base` whose id differs (a label of `version`): "new content" under an old tag. */
export async function variantOf(base: string, version: string, ref: string): Promise<string> {
  const labels = Object.entries(testLabels()).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const container = await dockerCli('create', ...labels, base, 'true');
  try {
    await dockerCli('commit', '--change', `LABEL ds-test.version=${version}`, container, ref);
  } finally {
    await dockerCli('rm', '-f', container);
  }
  return (await dockerCli('image', 'inspect', '--format', '{{.Id}}', ref)).trim();
}

/** `base` plus a layer of `bytes` random bytes: big enough for the engine to report download progress. */
export async function withBlob(base: string, bytes: number, ref: string): Promise<string> {
  const labels = Object.entries(testLabels()).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const container = await dockerCli(
    'create',
    ...labels,
    base,
    'sh',
    '-c',
    `head -c ${bytes} /dev/urandom >/blob`,
  );
  try {
    await dockerCli('start', '-a', container);
    await dockerCli('commit', container, ref);
  } finally {
    await dockerCli('rm', '-f', container);
  }
  return ref;
}

/** A TCP server on loopback that accepts connections and never sends a byte. */
export async function silentServer(): Promise<{
  port: number;
  accepted: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    accepted: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
