/**
 * The isolation guard: an nftables table of our own that drops traffic between our bridge networks
 * and any other Docker bridge, whatever dockerd's iptables rules are doing at that instant.
 *
 * Why it exists: two tasks' networks are kept apart only by dockerd's FORWARD rules, and dockerd
 * 20.10 moves FORWARD's jump to DOCKER-ISOLATION-STAGE-1 (delete, then insert) on every network
 * create, by anyone; in that gap a SYN from one bridge to another is forwarded (README, "Network
 * isolation under churn": 15–170 ms per create, about 1 % of probes got through under churn).
 * DOCKER-USER's jump is moved the same way, so a rule there has the same gap. A table dockerd
 * never touches, hooked into forward just before iptables' filter chains, does not: a drop in any
 * base chain is final, whichever backend (nf_tables or legacy) dockerd uses.
 *
 * It only ever drops more: same-bridge traffic and traffic to non-bridge interfaces (a service's
 * way out to the deployment) pass, as with Docker's own isolation. Bridges are named the way
 * dockerd names a user-defined bridge network's interface, `br-` and the id's first 12 characters
 * (we never set `com.docker.network.bridge.name`).
 *
 * The table is shared by every docker-services process on the host; each adds and removes only
 * the interfaces of networks it created or adopted, and every change is one nft transaction.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export const GUARD_TABLE = 'docker_services_isolation';

/** What the executors call; `undefined` where the guard is off. */
export interface IsolationGuard {
  /** Put a network in the guard; done before any container on it starts. Idempotent. */
  protect(networkId: string): Promise<void>;
  /** Take a removed network's interface out of the guard. Idempotent. */
  release(networkId: string): Promise<void>;
}

export class IsolationGuardError extends Error {
  override name = 'IsolationGuardError';
}

export interface NftablesGuardOptions {
  /**
   * How nft is run (default `['nft']`): e.g. `['ip', 'netns', 'exec', NAME, 'nft']` where the
   * engine's bridges live in another network namespace than this process.
   */
  command?: readonly string[];
  /** Whether an interface still exists, for pruning (default: /sys/class/net of this namespace). */
  interfaceExists?: (name: string) => boolean;
  timeoutMs?: number;
}

/** The interface dockerd gives a bridge network it names itself. */
export function bridgeOf(networkId: string): string {
  if (!/^[0-9a-f]{12,}$/.test(networkId)) {
    throw new IsolationGuardError(`not a Docker network id: ${JSON.stringify(networkId)}`);
  }
  return `br-${networkId.slice(0, 12)}`;
}

/**
 * The table: `ours` holds our bridges, `self` each of them paired with itself (same-bridge traffic
 * passes). Traffic from or to one of ours is dropped when the other side is another Docker bridge.
 */
export function tableDefinition(table = GUARD_TABLE): string {
  const t = `inet ${table}`;
  return [
    `add set ${t} ours { type ifname; }`,
    `add set ${t} self { type ifname . ifname; }`,
    // Before iptables' filter chains (priority 0, both backends): nothing they do can open a gap.
    `add chain ${t} forward { type filter hook forward priority filter - 1; policy accept; }`,
    `add rule ${t} forward iifname @ours oifname { "br-*", "docker0" } iifname . oifname != @self drop`,
    `add rule ${t} forward oifname @ours iifname { "br-*", "docker0" } iifname . oifname != @self drop`,
    '',
  ].join('\n');
}

/** Adding first makes the delete succeed whether or not the element was there. */
function membership(table: string, bridge: string, change: 'add' | 'remove'): string {
  const t = `inet ${table}`;
  const lines = [
    `add element ${t} ours { "${bridge}" }`,
    `add element ${t} self { "${bridge}" . "${bridge}" }`,
  ];
  if (change === 'remove') {
    lines.push(
      `delete element ${t} ours { "${bridge}" }`,
      `delete element ${t} self { "${bridge}" . "${bridge}" }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export class NftablesGuard implements IsolationGuard {
  private readonly command: readonly string[];
  private readonly interfaceExists: (name: string) => boolean;
  private readonly timeoutMs: number;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly table: string = GUARD_TABLE,
    options: NftablesGuardOptions = {},
  ) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(table)) {
      throw new IsolationGuardError(`not an nftables table name: ${JSON.stringify(table)}`);
    }
    this.command = options.command ?? ['nft'];
    this.interfaceExists = options.interfaceExists ?? ((name) => existsSync(`/sys/class/net/${name}`));
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /**
   * Makes the table if it is not there and prunes interfaces that no longer exist (left by a
   * process that was killed). Once per guard; a failure is reported to every caller and retried
   * by the next.
   */
  ensure(): Promise<void> {
    this.ready ??= this.setUp().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  async protect(networkId: string): Promise<void> {
    const bridge = bridgeOf(networkId);
    await this.ensure();
    await this.nft(['-f', '-'], membership(this.table, bridge, 'add'));
  }

  async release(networkId: string): Promise<void> {
    const bridge = bridgeOf(networkId);
    await this.ensure();
    await this.nft(['-f', '-'], membership(this.table, bridge, 'remove'));
  }

  /** The bridges in the guard now. */
  async members(): Promise<string[]> {
    const out = await this.nft(['-j', 'list', 'set', 'inet', this.table, 'ours']);
    return elementsOf(out);
  }

  private async setUp(): Promise<void> {
    const exists = await this.nft(['list', 'table', 'inet', this.table]).then(
      () => true,
      () => false,
    );
    if (!exists) {
      // One transaction: `create` fails as a whole if another process made the table meanwhile.
      await this.nft(['-f', '-'], `create table inet ${this.table}\n${tableDefinition(this.table)}`).catch(
        async (error: unknown) => {
          const made = await this.nft(['list', 'table', 'inet', this.table]).then(
            () => true,
            () => false,
          );
          if (!made) throw error;
        },
      );
    }
    const gone = (await this.members()).filter((bridge) => !this.interfaceExists(bridge));
    if (gone.length > 0) {
      await this.nft(['-f', '-'], gone.map((b) => membership(this.table, b, 'remove')).join(''));
    }
  }

  private nft(args: string[], input?: string): Promise<string> {
    const [file, ...prefix] = this.command;
    return new Promise((resolve, reject) => {
      const child = execFile(
        file!,
        [...prefix, ...args],
        { timeout: this.timeoutMs, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
          reject(
            new IsolationGuardError(
              missing
                ? `the isolation guard needs nft (Debian/Ubuntu package "nftables"), and ${file} was not found`
                : `nft ${args.join(' ')} failed: ${String(stderr || error.message).trim()}` +
                    (/Operation not permitted/i.test(String(stderr))
                      ? ' (the isolation guard needs root or CAP_NET_ADMIN)'
                      : ''),
              { cause: error },
            ),
          );
        },
      );
      if (input !== undefined) child.stdin?.end(input);
    });
  }
}

/** Element names of a set from `nft -j list set`. */
function elementsOf(json: string): string[] {
  const parsed = JSON.parse(json) as { nftables?: Array<{ set?: { elem?: unknown[] } }> };
  const set = parsed.nftables?.find((entry) => entry.set)?.set;
  return (set?.elem ?? []).filter((e): e is string => typeof e === 'string').sort();
}
