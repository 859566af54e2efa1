/**
 * Planner scaling: `plan()` time for compile()'s graphs of about 100, 1,000 and 10,000 nodes
 * (3 nodes per service plus the task network) against a snapshot that matches (nothing to do),
 * an empty one (everything to create) and one that drifted (a tenth of the containers exited, a
 * tenth with a stale spec hash). Pure CPU, no Docker.
 */
import { compile } from '../../src/desired-state/compile.js';
import type { WorkerConfig } from '../../src/desired-state/config.js';
import { bindImages, resolveImage } from '../../src/desired-state/images.js';
import { Label } from '../../src/desired-state/labels.js';
import { sortSnapshot } from '../../src/observed-state/collect.js';
import type { DesiredState, ResolvedImage } from '../../src/desired-state/types.js';
import type {
  ObservedContainer,
  ObservedImage,
  ObservedNetwork,
  Snapshot,
} from '../../src/observed-state/types.js';
import { PlanCache, plan } from '../../src/reconciler/plan.js';
import { DEFAULT_RESTART_POLICY } from '../../src/reconciler/restarts.js';
import { payload, taskId } from './common.js';
import { summarize, type Stats } from './stats.js';

export interface PlannerResult {
  nodes: number;
  services: number;
  snapshot: 'matching' | 'empty' | 'drifted';
  actions: number;
  ms: Stats;
  iterations: number;
}

function hex(i: number, length = 64): string {
  return i.toString(16).padStart(length, '0');
}

const TIME = '2026-01-01T00:00:00.000000000Z';

/** What Docker would show once `desired` has converged, as the observer emits it (sorted). */
export function convergedSnapshot(desired: DesiredState): Snapshot {
  const images: ObservedImage[] = desired.images.map((ref, i) => ({
    ref,
    id: `sha256:${hex(i + 1)}`,
    repoDigests: [],
    labels: {},
  }));
  for (const c of desired.containers) {
    if (c.imageKeyOf !== undefined && !images.some((i) => i.ref === c.imageKeyOf))
      images.push({ ref: c.imageKeyOf, id: `sha256:${hex(images.length + 1)}`, repoDigests: [], labels: {} });
    if (!images.some((i) => i.ref === c.image))
      images.push({ ref: c.image, id: `sha256:${hex(images.length + 1)}`, repoDigests: [], labels: {} });
  }
  const resolved = new Map<string, ResolvedImage>(images.map((i) => [i.ref, resolveImage(i.ref, i)]));
  const networkIds = new Map(desired.networks.map((n, i) => [n.id, hex(0x100000 + i)]));
  const networkName = new Map(desired.networks.map((n) => [n.id, n.name]));
  const attached = new Map<string, string[]>();
  const containers: ObservedContainer[] = desired.containers.map((node, i) => {
    const bound = bindImages(node, (ref) => resolved.get(ref));
    if (!bound) throw new Error(`cannot bind ${node.id}`);
    const id = hex(0x200000 + i);
    const networks: ObservedContainer['networks'] = {};
    node.networks.forEach((a, k) => {
      networks[networkName.get(a.network)!] = {
        networkId: networkIds.get(a.network)!,
        aliases: [...a.aliases].sort(),
        ipAddress: `10.${(i >> 8) & 255}.${i & 255}.${k + 2}`,
      };
      attached.set(a.network, [...(attached.get(a.network) ?? []), id]);
    });
    return {
      id,
      name: node.name,
      labels: { ...bound.labels },
      image: node.image,
      imageId: resolved.get(node.image)!.id,
      state: 'running',
      exitCode: 0,
      oomKilled: false,
      health: node.healthCheck ? 'healthy' : 'none',
      networks,
      createdAt: TIME,
      startedAt: TIME,
    };
  });
  const networks: ObservedNetwork[] = desired.networks.map((n) => ({
    id: networkIds.get(n.id)!,
    name: n.name,
    labels: { ...n.labels },
    containerIds: (attached.get(n.id) ?? []).sort(),
  }));
  return sortSnapshot({ time: TIME, containers, networks, images, missingImages: [], foreign: [] });
}

function drifted(snapshot: Snapshot): Snapshot {
  return {
    ...snapshot,
    containers: snapshot.containers.map((c, i) => {
      if (i % 10 === 0) return { ...c, state: 'exited', exitCode: 1, finishedAt: TIME };
      if (i % 10 === 5) return { ...c, labels: { ...c.labels, [Label.specHash]: 'stale' } };
      return c;
    }),
  };
}

/**
 * Samples of each of `runs`, taken in turn (A B C A B C …, as the up/down rounds are), so that a
 * noisy stretch of the shared machine falls on every snapshot kind alike, not on one of them.
 */
function time(
  runs: readonly (() => number)[],
  budgetMs: number,
  minIterations: number,
): { samples: number[]; actions: number }[] {
  const out = runs.map((run) => ({ samples: [] as number[], actions: run() })); // warm-up (JIT)
  const start = performance.now();
  const budget = budgetMs * runs.length;
  while (
    out[0]!.samples.length < minIterations ||
    (performance.now() - start < budget && out[0]!.samples.length < 200)
  ) {
    runs.forEach((run, k) => {
      const t0 = performance.now();
      out[k]!.actions = run();
      out[k]!.samples.push(performance.now() - t0);
    });
  }
  return out;
}

export function benchPlanner(
  config: WorkerConfig,
  sizes: readonly number[],
  budgetMs: number,
  minIterations: number,
): PlannerResult[] {
  const results: PlannerResult[] = [];
  // compile() refuses more than limits.maxServices (the codec caps the configured value at 1,000);
  // the bench compiles bigger graphs on purpose.
  const big: WorkerConfig = { ...config, limits: { ...config.limits, maxServices: 100_000 } };
  for (const nodes of sizes) {
    const services = Math.max(1, Math.round((nodes - 1) / 3));
    const desired = compile(payload(services), { config: big, taskId: taskId(), runId: 0, scopes: [] });
    const count = desired.networks.length + desired.containers.length;
    const matching = convergedSnapshot(desired);
    const empty: Snapshot = { ...matching, containers: [], networks: [] };
    const kinds = [
      ['matching', matching],
      ['empty', empty],
      ['drifted', drifted(matching)],
    ] as const;
    // As the loop plans: one cache per run of one graph, kept across its snapshots.
    const options = {
      now: Date.parse(TIME),
      restarts: {},
      restart: DEFAULT_RESTART_POLICY,
      cache: new PlanCache(),
    };
    const timed = time(
      kinds.map(
        ([, snapshot]) =>
          () =>
            plan(desired, snapshot, options).actions.length,
      ),
      budgetMs,
      minIterations,
    );
    kinds.forEach(([kind], k) => {
      const { samples, actions } = timed[k]!;
      results.push({
        nodes: count,
        services,
        snapshot: kind,
        actions,
        ms: summarize(samples),
        iterations: samples.length,
      });
    });
  }
  return results;
}
