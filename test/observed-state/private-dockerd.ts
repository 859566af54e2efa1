/**
 * A dockerd of our own, for tests that kill a daemon: the shared one on /var/run/docker.sock must
 * never be killed. Everything lives under one temp dir (socket, data root, exec root, pid file,
 * log) and on a bridge of its own, with no iptables rules. `--bridge=none` is NOT used: at start
 * dockerd then deletes the host's `docker0` interface, which the shared daemon's default network
 * needs.
 */
import Docker from 'dockerode';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { dockerApi, type DockerApi } from '../../src/docker/client.js';

const exec = promisify(execFile);

export interface PrivateDockerd {
  dir: string;
  host: string;
  api: DockerApi;
  cli(...args: string[]): Promise<string>;
  /** Starts dockerd on the same dirs and waits until it answers. */
  start(): Promise<void>;
  /** SIGKILL, as a crash: no shutdown of containers, the pid file stays behind. */
  kill9(): Promise<void>;
  /** Stops everything it ran and deletes every trace. Safe to call more than once. */
  destroy(): Promise<void>;
}

export async function startPrivateDockerd(
  options: {
    liveRestore?: boolean;
    /** `--default-address-pool` (e.g. `base=10.235.0.0/26,size=28`); else Docker's defaults. */
    addressPool?: string;
  } = {},
): Promise<PrivateDockerd> {
  const dir = mkdtempSync('/tmp/ds-dockerd-');
  const socket = `${dir}/docker.sock`;
  const host = `unix://${socket}`;
  const pidfile = `${dir}/docker.pid`;
  const bridge = `dsp${randomBytes(4).toString('hex')}`;
  // A /24 of its own; the shared daemon's pool is 10.231.0.0/16.
  const address = `10.233.${randomBytes(1)[0]}.1/24`;
  await exec('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await exec('ip', ['addr', 'add', address, 'dev', bridge]);
  await exec('ip', ['link', 'set', bridge, 'up']);

  let pid: number | undefined;
  const api = dockerApi(new Docker({ socketPath: socket }), { timeoutMs: 5_000, slowTimeoutMs: 20_000 });
  const cli = async (...args: string[]) => {
    const { stdout } = await exec('docker', ['-H', host, ...args], { timeout: 30_000 });
    return stdout.trim();
  };

  async function start(): Promise<void> {
    const log = openSync(`${dir}/dockerd.log`, 'a');
    const child = spawn(
      'dockerd',
      [
        '-H',
        host,
        '--data-root',
        `${dir}/data`,
        '--exec-root',
        `${dir}/exec`,
        '--pidfile',
        pidfile,
        `--bridge=${bridge}`,
        '--iptables=false',
        '--ip-masq=false',
        '--ip-forward=false',
        ...(options.liveRestore ? ['--live-restore'] : []),
        ...(options.addressPool ? ['--default-address-pool', options.addressPool] : []),
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    closeSync(log);
    child.unref();
    pid = child.pid;
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await api.systemTime();
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          const tail = readFileSync(`${dir}/dockerd.log`, 'utf8').split('\n').slice(-15).join('\n');
          throw new Error(`private dockerd did not answer: ${String(error)}\n${tail}`, { cause: error });
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async function kill9(): Promise<void> {
    if (pid === undefined) return;
    process.kill(pid, 'SIGKILL');
    await waitGone(pid, 10_000);
    pid = undefined;
    // Its containerd follows it down, and stays a zombie until init reaps it; dockerd probes the
    // pid in containerd.pid with kill 0, takes the zombie for a live containerd, and fails to start.
    // Give init a moment, then drop the pid file so dockerd starts a containerd of its own. The
    // shims (and so the containers) live on, as in a real crash.
    const containerdPidFile = `${dir}/exec/containerd/containerd.pid`;
    const containerd = Number(
      existsSync(containerdPidFile) ? readFileSync(containerdPidFile, 'utf8').trim() : NaN,
    );
    if (Number.isInteger(containerd) && containerd > 0) {
      await waitGone(containerd, 5_000, { zombieIsGone: false }).catch(() =>
        rmSync(containerdPidFile, { force: true }),
      );
    }
  }

  let destroyed = false;
  async function destroy(): Promise<void> {
    if (destroyed) return;
    destroyed = true;
    if (pid !== undefined) {
      await cli('ps', '-aq')
        .then((ids) => (ids ? cli('rm', '-f', ...ids.split('\n')) : ''))
        .catch(() => {});
      try {
        process.kill(pid, 'SIGTERM');
        await waitGone(pid, 20_000);
      } catch {
        // Gone already, or will be killed below.
      }
    }
    // Whatever is left (containerd, shims, a daemon that would not stop) names our dir.
    for (const leftover of processesMentioning(dir)) {
      try {
        process.kill(leftover, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    for (const leftover of processesMentioning(dir)) await waitGone(leftover, 5_000).catch(() => {});
    // dockerd bind-mounts its data root onto itself, and overlay and netns mounts live under it.
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      .filter((mount) => mount.startsWith(`${dir}/`))
      .sort()
      .reverse();
    for (const mount of mounts) await exec('umount', ['-l', mount]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    await exec('ip', ['link', 'del', bridge]).catch(() => {});
  }

  const daemon: PrivateDockerd = { dir, host, api, cli, start, kill9, destroy };
  try {
    await start();
  } catch (error) {
    await destroy();
    throw error;
  }
  return daemon;
}

/** Loads an image of the shared daemon into the private one (there is no registry to pull from). */
export async function loadImage(daemon: PrivateDockerd, image: string): Promise<void> {
  await exec(
    'bash',
    ['-o', 'pipefail', '-c', `docker save "$1" | docker -H "$2" load`, 'load', image, daemon.host],
    {
      timeout: 120_000,
    },
  );
}

function processesMentioning(dir: string, command?: RegExp): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(dir) && (!command || command.test(cmdline))) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

async function waitGone(pid: number, timeoutMs: number, options = { zombieIsGone: true }): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (existsSync(`/proc/${pid}`) && !(options.zombieIsGone && isZombie(pid))) {
    if (Date.now() > deadline) throw new Error(`process ${pid} did not exit`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function isZombie(pid: number): boolean {
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^\d+ \(.*\) /, ' '));
  } catch {
    return true;
  }
}
