/**
 * Known effects against the real engine: each action of an up and a down is run by its executor,
 * the observer is told what the executor tells it (a hold, then the effect with the release), and
 * the snapshot it answers with, made with no inspect, is compared with a fresh relist of the
 * engine. What Docker's answer cannot carry is left out of the comparison: its timestamps, a
 * running endpoint's address and the probe log (nothing that plans or says ready reads them of a
 * created or running container).
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { Subject } from 'rxjs';
import type { ExecuteContext } from '../../src/actions/context.js';
import { executeAction, knownEffect } from '../../src/actions/execute.js';
import { compile } from '../../src/desired-state/compile.js';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { bindImages } from '../../src/desired-state/images.js';
import { Label } from '../../src/desired-state/labels.js';
import type { ContainerNode, ResolvedImage } from '../../src/desired-state/types.js';
import type { DockerApi } from '../../src/docker/client.js';
import { collectSnapshot } from '../../src/observed-state/collect.js';
import { mapImage } from '../../src/observed-state/map.js';
import { observe } from '../../src/observed-state/observe.js';
import { scopeOf } from '../../src/observed-state/scope.js';
import type { Snapshot } from '../../src/observed-state/types.js';
import type { HeldObjects, RefreshRequest } from '../../src/observed-state/requests.js';
import type { Action } from '../../src/reconciler/actions.js';
import { IMAGES, removeMadeByThisRun, testDocker, testOwnerId } from '../support/docker.js';
import { slugid } from '../support/slugid.js';

const plain = testDocker();
const inspects: string[] = [];
/** The engine, with every inspect after the first relist counted. */
const docker: DockerApi = {
  ...plain,
  inspectContainer: (id) => (inspects.push(`container ${id}`), plain.inspectContainer(id)),
  inspectNetwork: (id) => (inspects.push(`network ${id}`), plain.inspectNetwork(id)),
  listContainers: (f) => (inspects.push('list containers'), plain.listContainers(f)),
};
const ownerId = testOwnerId('fold');
const taskId = slugid();

afterAll(async () => {
  await removeMadeByThisRun(plain, (l) => l[Label.owner] === ownerId);
});

/** What an answer cannot carry, out of a snapshot. */
function comparable(snapshot: Snapshot): unknown {
  return {
    containers: snapshot.containers.map(
      ({ createdAt: _c, startedAt: _s, lastHealthOutput: _l, networks, ...rest }) => ({
        ...rest,
        networks: Object.fromEntries(
          Object.entries(networks).map(([name, { ipAddress: _ip, ...endpoint }]) => [name, endpoint]),
        ),
      }),
    ),
    networks: snapshot.networks,
    foreign: snapshot.foreign,
  };
}

describe('known effects (real engine)', () => {
  it('folds each action of an up and a down as an inspect right after it shows it, with no inspect', async () => {
    const config = defaultWorkerConfig({
      ownerId,
      images: { pullPolicy: 'if-not-present' },
      provisionerId: 'prov',
      workerType: 'wt',
      rootUrl: 'https://tc.example.com',
      proxy: { image: IMAGES.busybox },
    });
    const compiled = compile(
      { services: [{ name: 'web', image: IMAGES.busybox, command: ['sleep', '300'] }] },
      { config, taskId, runId: 0, scopes: [] },
    );
    const resolved = new Map<string, ResolvedImage>();
    for (const ref of [IMAGES.busybox]) {
      const image = mapImage(ref, (await plain.inspectImage(ref))!);
      resolved.set(ref, { ref, id: image.id, key: image.id, labels: image.labels });
    }
    const network = compiled.networks.find((n) => n.role === 'task-network')!;
    // The proxy as a sleeper whose health check does not run for a minute: its health stays
    // `starting` while the comparison runs.
    const proxyNode: ContainerNode = {
      ...compiled.containers.find((c) => c.role === 'proxy')!,
      cmd: ['sleep', '300'],
      healthCheck: { test: ['CMD', 'true'], intervalNs: 60e9, timeoutNs: 1e9, retries: 3, startPeriodNs: 0 },
    };
    const serviceNode = compiled.containers.find((c) => c.role === 'service')!;
    const proxy = bindImages(proxyNode, (ref) => resolved.get(ref))!;

    const refresh$ = new Subject<RefreshRequest | void>();
    const snapshots: Snapshot[] = [];
    const observer = observe(docker, scopeOf(compiled), {
      refresh$,
      relistIntervalMs: 3_600_000,
      stallRelistMs: 3_600_000,
    });
    const subscription = observer.subscribe((s) => snapshots.push(s));
    const ctx: ExecuteContext = {
      docker: plain,
      owner: compiled.owner,
      credentials: async () => ({}),
    };
    let sequence = 0;
    const answered = async (token: number) => {
      const deadline = Date.now() + 10_000;
      while (!snapshots.some((s) => (s.refreshed ?? 0) >= token) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      return snapshots.find((s) => (s.refreshed ?? 0) >= token)!;
    };
    /** Runs one action as the executor does, and compares what the observer folds with the engine. */
    const act = async (action: Action, hold: Omit<HeldObjects, 'key'>) => {
      const key = 1_000_000 + ++sequence;
      refresh$.next({ hold: { key, ...hold } });
      const result = await executeAction(action, ctx);
      const effect = knownEffect(action, result);
      expect(effect).toBeDefined();
      const token = 1_000_000 + ++sequence;
      refresh$.next({ effects: [effect!], release: key, token });
      const folded = await answered(token);
      expect(folded).toBeDefined();
      // Let the action's own events arrive, then see that none of them was inspected.
      await new Promise((r) => setTimeout(r, 300));
      expect({ action: action.id, inspects }).toEqual({ action: action.id, inspects: [] });
      expect(comparable(snapshots.at(-1)!)).toEqual(comparable(folded));
      expect(comparable(folded)).toEqual(comparable(await collectSnapshot(plain, scopeOf(compiled))));
      return result;
    };
    const base = { target: { type: 'container' as const, name: '' }, cause: 'test', dependsOn: [] };
    try {
      const start = 1_000_000 + ++sequence;
      refresh$.next({ token: start });
      await answered(start);
      inspects.length = 0;

      const { networkId } = await act(
        {
          ...base,
          id: 'n',
          kind: 'create-network',
          network,
          target: { type: 'network', name: network.name },
        },
        { networkNames: [network.name] },
      );
      expect(networkId).toBeDefined();
      const { containerId: proxyId } = await act(
        {
          ...base,
          id: 'cp',
          kind: 'create-container',
          container: proxy,
          network: { name: network.name, aliases: proxy.networks[0]?.aliases ?? [] },
        },
        { containerNames: [proxy.name] },
      );
      const service = bindImages(serviceNode, (ref) => resolved.get(ref), proxyId)!;
      const { containerId: serviceId } = await act(
        { ...base, id: 'cs', kind: 'create-container', container: service },
        { containerNames: [service.name] },
      );
      await act(
        {
          ...base,
          id: 'sp',
          kind: 'start-container',
          container: proxy.name,
          target: { ...base.target, objectId: proxyId! },
        },
        { containers: [proxyId!] },
      );
      await act(
        {
          ...base,
          id: 'ss',
          kind: 'start-container',
          container: service.name,
          target: { ...base.target, objectId: serviceId! },
        },
        { containers: [serviceId!] },
      );
      const running = snapshots.at(-1)!;
      expect(running.containers.map((c) => `${c.name} ${c.state} ${c.health}`).sort()).toEqual(
        [`${proxy.name} running starting`, `${service.name} running none`].sort(),
      );
      expect(running.networks[0]!.containerIds).toEqual([proxyId]);

      await act(
        { ...base, id: 'rs', kind: 'remove-container', containerId: serviceId! },
        { containers: [serviceId!] },
      );
      await act(
        { ...base, id: 'rp', kind: 'remove-container', containerId: proxyId! },
        { containers: [proxyId!] },
      );
      await act(
        {
          ...base,
          id: 'rn',
          kind: 'remove-network',
          networkId: networkId!,
          target: { type: 'network', name: network.name },
        },
        { networks: [networkId!] },
      );
      expect(snapshots.at(-1)!.containers).toEqual([]);
      expect(snapshots.at(-1)!.networks).toEqual([]);
    } finally {
      subscription.unsubscribe();
    }
  }, 60_000);
});
