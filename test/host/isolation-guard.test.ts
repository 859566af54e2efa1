/**
 * The isolation guard's rules, on real kernel forwarding, in network namespaces of this test's
 * own: a "host" namespace with two bridges named as dockerd names them, a third one, and a plain
 * interface standing for the way out; each "container" is a namespace on one of them. Nothing
 * else filters there, so the host forwards between the bridges unless the guard drops it: the
 * first case shows the probe does see a crossing (what dockerd's gap lets through), the others
 * what the guard changes. The host's own firewall is never touched.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { IsolationGuardError, NftablesGuard } from '../../src/host/isolation-guard.js';

const exec = promisify(execFile);
const tag = randomBytes(3).toString('hex');
const ns = (name: string) => `dsg-${tag}-${name}`;
const HOST = ns('host');
const TABLE = 'docker_services_isolation';

// Network ids as Docker makes them: 64 hex; the bridge is br- and the first 12.
const id = (c: string) => c.repeat(64);
const A = id('a'); // ours
const C = id('c'); // ours, another task
const B = id('b'); // another Docker network, not ours
const bridge = (networkId: string) => `br-${networkId.slice(0, 12)}`;

const hostNft = ['ip', 'netns', 'exec', HOST, 'nft'];
const interfaceExists = (name: string) => {
  try {
    execFileSync('ip', ['netns', 'exec', HOST, 'ip', 'link', 'show', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const guard = () => new NftablesGuard(TABLE, { command: hostNft, interfaceExists });

const inHost = (...args: string[]) => exec('ip', ['netns', 'exec', HOST, ...args]);

/** Where each "container" sits: namespace → [bridge or interface, address]. */
const MEMBERS = {
  a: [bridge(A), '10.91.1.2'],
  a2: [bridge(A), '10.91.1.3'],
  b: [bridge(B), '10.91.2.2'],
  c: [bridge(C), '10.91.3.2'],
} as const;
const OUT = '10.91.9.2';
const GATEWAYS: Record<string, string> = {
  [bridge(A)]: '10.91.1.1',
  [bridge(B)]: '10.91.2.1',
  [bridge(C)]: '10.91.3.1',
};

/**
 * Whether `from` gets an echo reply from `to`. Three tries where a reply is expected (a busy
 * machine may lose one); one where none is (a dropped packet gets no answer however often asked).
 */
async function reaches(from: string, to: string, tries = 3): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const ok = await exec('ip', ['netns', 'exec', ns(from), 'busybox', 'ping', '-c1', '-W2', to]).then(
      () => true,
      () => false,
    );
    if (ok) return true;
  }
  return false;
}

async function link(
  namespace: string,
  device: string,
  master: string | undefined,
  address: string,
  gateway: string,
) {
  const peer = `v${randomBytes(4).toString('hex')}`;
  await exec('ip', ['link', 'add', peer, 'type', 'veth', 'peer', 'name', device, 'netns', ns(namespace)]);
  await exec('ip', ['link', 'set', peer, 'netns', HOST]);
  if (master) await inHost('ip', 'link', 'set', peer, 'master', master);
  await inHost('ip', 'link', 'set', peer, 'up');
  const inNs = (...args: string[]) => exec('ip', ['netns', 'exec', ns(namespace), ...args]);
  await inNs('ip', 'addr', 'add', `${address}/24`, 'dev', device);
  await inNs('ip', 'link', 'set', device, 'up');
  await inNs('ip', 'route', 'add', 'default', 'via', gateway);
  return peer;
}

beforeAll(async () => {
  for (const name of ['host', 'out', ...Object.keys(MEMBERS)]) await exec('ip', ['netns', 'add', ns(name)]);
  for (const [name, address] of Object.entries(GATEWAYS)) {
    await inHost('ip', 'link', 'add', name, 'type', 'bridge');
    await inHost('ip', 'addr', 'add', `${address}/24`, 'dev', name);
    await inHost('ip', 'link', 'set', name, 'up');
  }
  for (const [name, [master, address]] of Object.entries(MEMBERS)) {
    await link(name, 'eth0', master, address, GATEWAYS[master]!);
  }
  // The way out: a plain interface of the host, as a service's route to the deployment.
  const out = await link('out', 'eth0', undefined, OUT, '10.91.9.1');
  await inHost('ip', 'addr', 'add', '10.91.9.1/24', 'dev', out);
  await inHost('sysctl', '-qw', 'net.ipv4.ip_forward=1');
}, 60_000);

afterAll(async () => {
  for (const name of ['host', 'out', ...Object.keys(MEMBERS)]) {
    await exec('ip', ['netns', 'del', ns(name)]).catch(() => {});
  }
});

describe('the isolation guard on real forwarding', () => {
  it('without it, the host forwards between two bridges (what a gap in dockerd rules lets through)', async () => {
    expect(await reaches('a', MEMBERS.b[1])).toBe(true);
    expect(await reaches('b', MEMBERS.a[1])).toBe(true);
  }, 60_000);

  it('drops traffic between our bridge and another bridge both ways; same bridge and the way out pass', async () => {
    await guard().protect(A);
    expect(await reaches('a', MEMBERS.b[1], 1)).toBe(false);
    expect(await reaches('b', MEMBERS.a[1], 1)).toBe(false);
    expect(await reaches('a', MEMBERS.a2[1])).toBe(true);
    expect(await reaches('a', OUT)).toBe(true);
    expect(await reaches('b', OUT)).toBe(true);
  }, 60_000);

  it("keeps two of our networks apart too (two tasks' networks)", async () => {
    await guard().protect(C);
    expect(await reaches('c', MEMBERS.a[1], 1)).toBe(false);
    expect(await reaches('a', MEMBERS.c[1], 1)).toBe(false);
    expect(await reaches('c', OUT)).toBe(true);
  }, 60_000);

  it('is idempotent: protecting twice, setting up from a second process, one table and two rules', async () => {
    const second = guard();
    await second.protect(C);
    await Promise.all([guard().ensure(), guard().ensure()]);
    expect(await second.members()).toEqual([bridge(A), bridge(C)].sort());
    const { stdout } = await inHost('nft', 'list', 'chain', 'inet', TABLE, 'forward');
    expect(stdout.match(/ drop$/gm)).toHaveLength(2);
  }, 60_000);

  it('release lets the traffic of a removed network be (and is idempotent)', async () => {
    const g = guard();
    await g.release(A);
    await g.release(A);
    expect(await g.members()).toEqual([bridge(C)]);
    expect(await reaches('a', MEMBERS.b[1])).toBe(true);
    expect(await reaches('c', MEMBERS.b[1], 1)).toBe(false);
  }, 60_000);

  it('prunes bridges that no longer exist when a guard starts (left by a killed process)', async () => {
    const gone = id('d');
    await guard().protect(gone);
    expect(await guard().members()).toContain(bridge(gone));
    await guard().ensure();
    expect(await guard().members()).toEqual([bridge(C)]);
  }, 60_000);

  it('fails with what to install when nft is missing, and refuses what is not a network id', async () => {
    const missing = new NftablesGuard(TABLE, { command: ['/nonexistent/nft'] });
    await expect(missing.ensure()).rejects.toThrow(IsolationGuardError);
    await expect(missing.ensure()).rejects.toThrow(/package "nftables"/);
    await expect(guard().protect('br-x; flush ruleset')).rejects.toThrow(/not a Docker network id/);
  });
});
