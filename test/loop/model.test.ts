/**
 * Properties of the whole loop (planner, executors, observation) against the in-memory engine,
 * over random desired graphs and random initial states: leftovers of an earlier attempt of this
 * run (some adoptable, some drifted, some orphaned, in any state), another run of the same task,
 * another task of the same owner, another owner's task, and objects that are not ours at all.
 *
 * - convergence: the loop ends with the engine holding exactly the desired graph (checked on the
 *   model, not through the planner), also when calls fail or time out (before or after the daemon
 *   acted);
 * - safety: nothing that is not this run's is ever the object of a mutating call, and the empty
 *   graph removes exactly this run's objects;
 * - bounded parallelism and per-object exclusivity, under interleavings chosen by `fc.scheduler`;
 * - convergence under dropped, duplicated and reordered events with periodic relist, across
 *   kills, external removals and daemon restarts;
 * - and the properties catch a planner that forgets orphans or touches another task's objects.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Subject, firstValueFrom, filter, share, timeout } from 'rxjs';
import { compile } from '../../src/desired-state/compile.js';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { bindImages, resolveImage } from '../../src/desired-state/images.js';
import { Label } from '../../src/desired-state/labels.js';
import type { DesiredState, OwnerRef, ResolvedImage } from '../../src/desired-state/types.js';
import { observe } from '../../src/observed-state/observe.js';
import { scopeOf } from '../../src/observed-state/scope.js';
import type { RefreshRequest } from '../../src/observed-state/requests.js';
import type { Plan } from '../../src/reconciler/actions.js';
import { converge, reconcile, type LoopEvent, type ReconcileOptions } from '../../src/loop/reconcile.js';
import { plan as realPlan } from '../../src/reconciler/plan.js';
import { down } from '../../src/loop/teardown.js';
import { FakeDocker, type EventFault, type FakeFault, type FakeImage } from '../support/fake-docker.js';
import { expectConverged } from './support.js';

/** `DS_PROPERTY_SCALE=5` runs every property five times as often (a refactor's check). */
const SCALE = Number(process.env.DS_PROPERTY_SCALE ?? 1);

const OWNER_ID = 'worker-model';
const TASK = 'modelTask_0123456789ab';
const OTHER_TASK = 'otherTask_0123456789ab';
const THIRD_TASK = 'thirdTask_0123456789ab';
const US: OwnerRef = { ownerId: OWNER_ID, taskId: TASK, runId: 0 };

const IMAGES: FakeImage[] = [
  { ref: 'img/proxy:1' },
  { ref: 'img/a:1' },
  { ref: 'img/b:1' },
  { ref: 'img/h:1', healthcheck: { Test: ['CMD', 'true'] } },
  { ref: 'img/decoy:1' },
];

function graph(services: Service[], owner: OwnerRef): DesiredState {
  const config = defaultWorkerConfig({
    ownerId: owner.ownerId,
    // Fixture images are built here, never in a registry: nothing to pull.
    images: { pullPolicy: 'if-not-present' },
    provisionerId: 'prov',
    workerType: 'wt',
    rootUrl: 'https://tc.example.com',
    proxy: { image: 'img/proxy:1' },
  });
  return compile(
    {
      services: services.map((s) => ({
        name: s.name,
        image: s.image,
        ...(s.command ? { command: s.command } : {}),
        ...(s.health ? { healthCheck: { command: ['true'] } } : {}),
      })),
    },
    { config, taskId: owner.taskId, runId: owner.runId, scopes: [] },
  );
}

interface Service {
  name: string;
  image: string;
  command: string[] | undefined;
  health: boolean;
}

const serviceArb: fc.Arbitrary<Service> = fc.record({
  name: fc.constantFrom('db', 'cache', 'web'),
  image: fc.constantFrom('img/a:1', 'img/b:1', 'img/h:1'),
  command: fc.option(fc.constantFrom(['run'], ['serve', '--fast']), { nil: undefined }),
  health: fc.boolean(),
});
const servicesArb = (minLength = 0) =>
  fc.uniqueArray(serviceArb, { selector: (s) => s.name, minLength, maxLength: 3 });

/** How an earlier attempt's object is found: absent, or present in some state, with the final hash or not. */
const leftoverArb = fc.record({
  present: fc.boolean(),
  state: fc.constantFrom('created' as const, 'running' as const, 'exited' as const),
  bound: fc.boolean(),
  allNetworks: fc.boolean(),
});
type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;
type Leftover = ValueOf<typeof leftoverArb>;

const worldArb = fc.record({
  services: servicesArb(),
  /** The earlier attempt of this run: the same services (adoptable) or others (drift, orphans). */
  earlier: fc.oneof(fc.constant('same' as const), servicesArb()),
  leftovers: fc.array(leftoverArb, { minLength: 12, maxLength: 12 }),
  networksPresent: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  otherRun: servicesArb(),
  otherTask: servicesArb(),
  otherOwner: servicesArb(),
});
type World = ValueOf<typeof worldArb>;

async function resolverOf(docker: FakeDocker): Promise<(ref: string) => ResolvedImage | undefined> {
  const resolved = new Map<string, ResolvedImage>();
  for (const image of IMAGES) {
    const inspect = await docker.inspectImage(image.ref);
    if (inspect)
      resolved.set(image.ref, resolveImage(image.ref, { id: inspect.Id, repoDigests: [], labels: {} }));
  }
  return (ref) => resolved.get(ref);
}

/** Puts a graph's objects in place: all of them running, or per `leftovers` where given. */
async function seed(
  docker: FakeDocker,
  desired: DesiredState,
  leftovers?: { containers: Leftover[]; networks: boolean[] },
): Promise<void> {
  const resolve = await resolverOf(docker);
  const present = new Set<string>();
  desired.networks.forEach((network, i) => {
    if (leftovers && !(leftovers.networks[i % leftovers.networks.length] ?? true)) return;
    docker.seedNetwork({ name: network.name, labels: network.labels });
    present.add(network.id);
  });
  const names = new Map(desired.networks.map((n) => [n.id, n.name]));
  desired.containers.forEach((node, i) => {
    const leftover: Leftover = leftovers?.containers[i % leftovers.containers.length] ?? {
      present: true,
      state: 'running',
      bound: true,
      allNetworks: true,
    };
    const first = node.networks[0];
    if (!leftover.present || !first || !present.has(first.network)) return;
    const labels = leftover.bound ? (bindImages(node, resolve)?.labels ?? node.labels) : node.labels;
    const attachments = (leftover.allNetworks ? node.networks : [first]).filter((a) =>
      present.has(a.network),
    );
    docker.seedContainer({
      name: node.name,
      image: node.image,
      labels,
      ...(node.cmd ? { cmd: node.cmd } : {}),
      state: leftover.state,
      networks: attachments.map((a) => ({ name: names.get(a.network)!, aliases: a.aliases })),
    });
  });
}

/** An engine holding the random initial state, and the objects in it that are not this run's. */
async function setUp(world: World, options: ConstructorParameters<typeof FakeDocker>[0] = {}) {
  const docker = new FakeDocker({ images: IMAGES, ...options });
  const desired = graph(world.services, US);
  const earlier = graph(world.earlier === 'same' ? world.services : world.earlier, US);
  await seed(docker, earlier, { containers: world.leftovers, networks: world.networksPresent });
  await seed(docker, graph(world.otherRun, { ...US, runId: 1 }));
  await seed(docker, graph(world.otherTask, { ...US, taskId: OTHER_TASK }));
  await seed(docker, graph(world.otherOwner, { ownerId: 'someone-else', taskId: THIRD_TASK, runId: 0 }));
  // Not ours at all: a decoy, and one named like ours without our labels (never a desired name).
  const decoyNet = docker.seedNetwork({ name: 'decoy-net', labels: { 'decoy.for': 'model-tests' } });
  void decoyNet;
  docker.seedContainer({
    name: 'decoy',
    image: 'img/decoy:1',
    state: 'running',
    networks: [{ name: 'decoy-net' }],
  });
  docker.seedContainer({ name: `ds-${TASK}-0_zz-squatter`, image: 'img/decoy:1', state: 'exited' });
  const ofRun = (labels: Record<string, string>) =>
    labels[Label.owner] === US.ownerId &&
    labels[Label.taskId] === US.taskId &&
    labels[Label.runId] === String(US.runId);
  const before = docker.world();
  const others = {
    containers: before.containers.filter((c) => !ofRun(c.labels)),
    networks: before.networks.filter((n) => !ofRun(n.labels)),
  };
  return { docker, desired, others, ofRun };
}

function expectUntouched(docker: FakeDocker, others: Awaited<ReturnType<typeof setUp>>['others']): void {
  const after = docker.world();
  for (const container of others.containers) {
    expect(after.containers.find((c) => c.id === container.id)).toEqual(container);
    expect(docker.callsOn(container.id)).toEqual([]);
  }
  for (const network of others.networks) {
    expect(after.networks.find((n) => n.id === network.id)).toEqual(network);
    expect(docker.callsOn(network.id)).toEqual([]);
  }
}

/** Answers like a socket would: after a turn of the event loop, so that timers (deadlines) run. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const FAST: Partial<ReconcileOptions> = {
  pollIntervalMs: 5,
  restart: { mode: 'restart', initialBackoffMs: 1, maxBackoffMs: 4, maxRestarts: 20 },
  retry: { initialBackoffMs: 1, maxBackoffMs: 4, maxAttempts: 60 },
};

function loopOptions(
  docker: FakeDocker,
  desired: DesiredState,
  extra: Partial<ReconcileOptions> = {},
): ReconcileOptions {
  return {
    docker,
    desired,
    execute: { credentials: async () => ({ TASKCLUSTER_ACCESS_TOKEN: 'dummy' }) },
    until: 'ready',
    ...FAST,
    ...extra,
  };
}

const faultArb: fc.Arbitrary<FakeFault | undefined> = fc.option(
  fc.oneof(
    fc.constant<FakeFault>({ kind: 'error', statusCode: 500 }),
    fc.constant<FakeFault>({ kind: 'error', statusCode: 409 }),
    fc.constant<FakeFault>({ kind: 'timeout-before' }),
    fc.constant<FakeFault>({ kind: 'timeout-after' }),
  ),
  { nil: undefined, freq: 2 },
);

/** The convergence-and-safety property, with a planner to run it with (the real one, or a mutant). */
function convergenceAndSafety(planner: typeof realPlan, deadlineMs = 20_000) {
  return fc.asyncProperty(worldArb, fc.array(faultArb, { maxLength: 40 }), async (world, faults) => {
    let call = 0;
    let armed = false;
    const { docker, desired, others, ofRun } = await setUp(world, {
      fault: () => (armed ? faults[call++] : undefined),
    });
    armed = true;
    await converge(loopOptions(docker, desired, { plan: planner, deadline: Date.now() + deadlineMs }));
    await expectConverged(docker, desired);
    expectUntouched(docker, others);

    await down(docker, desired.owner, {
      pollIntervalMs: 5,
      retry: { initialBackoffMs: 1, maxBackoffMs: 4 },
      timeoutMs: 20_000,
    });
    const after = docker.world();
    expect(after.containers.filter((c) => ofRun(c.labels))).toEqual([]);
    expect(after.networks.filter((n) => ofRun(n.labels))).toEqual([]);
    expect(after).toEqual(others);
    expectUntouched(docker, others);
  });
}

describe('the loop over the engine model', () => {
  it('converges to the desired graph from any initial state, under call failures, and the empty graph removes exactly this run', async () => {
    await fc.assert(convergenceAndSafety(realPlan), { numRuns: 40 * SCALE, endOnFailure: true });
  });

  it('keeps at most `concurrency` actions (and mutating calls) in flight and never two on one object, in any interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        worldArb,
        fc.integer({ min: 1, max: 4 }),
        async (s, world, concurrency) => {
          // The scheduler takes over once the initial state is in place.
          let scheduled = false;
          const { docker, desired, others } = await setUp(world, {
            delay: (call, phase) =>
              scheduled ? s.schedule(Promise.resolve(), `${call.op} ${phase}`).then(nextTurn) : nextTurn(),
            background: (what) =>
              scheduled ? s.schedule(Promise.resolve(), what).then(nextTurn) : nextTurn(),
          });
          scheduled = true;
          let inFlight = 0;
          let max = 0;
          const count = (event: LoopEvent) => {
            if (event.type === 'action-started') max = Math.max(max, ++inFlight);
            if (event.type === 'action-finished' || event.type === 'action-failed') inFlight -= 1;
          };
          await s.waitFor(converge({ ...loopOptions(docker, desired, { concurrency }), onEvent: count }));
          await s.waitFor(expectConverged(docker, desired));
          await s.waitFor(down(docker, desired.owner, { concurrency, pollIntervalMs: 5, onEvent: count }));
          expect(max).toBeLessThanOrEqual(concurrency);
          expect(docker.maxMutatingInFlight).toBeLessThanOrEqual(concurrency);
          expect(docker.overlaps.map((o) => `${o.call.op} / ${o.other.op} on ${o.object}`)).toEqual([]);
          expectUntouched(docker, others);
        },
      ),
      { numRuns: 20 * SCALE },
    );
  });

  it('converges again after kills, external removals and daemon restarts, with dropped, duplicated and reordered events and periodic relist', async () => {
    const perturbationArb = fc.constantFrom('kill', 'remove', 'remove-network', 'restart-daemon');
    const eventFaultArb = fc.constantFrom<EventFault>('deliver', 'deliver', 'drop', 'duplicate', 'hold');
    await fc.assert(
      fc.asyncProperty(
        servicesArb(1),
        fc.array(fc.tuple(perturbationArb, fc.nat()), { minLength: 1, maxLength: 3 }),
        fc.infiniteStream(eventFaultArb),
        async (services, perturbations, eventFaults) => {
          const docker = new FakeDocker({ images: IMAGES, eventFault: () => eventFaults.next().value });
          const desired = graph(services, US);
          const refresh$ = new Subject<RefreshRequest | void>();
          const snapshots = observe(docker, scopeOf(desired), {
            relistIntervalMs: 40,
            refresh$,
            backoff: { initialMs: 5, maxMs: 20 },
          });
          // The loop's own poll is off (an hour): only events and the observer's relist can see a perturbation.
          const events = reconcile(
            loopOptions(docker, desired, {
              snapshots,
              // The loop's targeted requests, tokens and all: after a daemon restart only a relist
              // may vouch for them (seed 1495282157 found a 'ready' while a proxy lay dead).
              refresh: (request) => refresh$.next(request),
              until: 'forever',
              pollIntervalMs: 3_600_000,
            }),
          ).pipe(share());
          const ready = () =>
            firstValueFrom(
              events.pipe(
                filter((e) => e.type === 'ready'),
                timeout(5_000),
              ),
            );
          const subscription = events.subscribe({ error: () => {} });
          try {
            await ready();
            for (const [perturbation, pick] of perturbations) {
              const next = ready();
              const world = docker.world();
              const ours = world.containers.filter((c) => c.labels[Label.taskId] === TASK);
              const target = ours[pick % ours.length]!;
              if (perturbation === 'kill') docker.kill(target.id);
              if (perturbation === 'remove') docker.removeExternally(target.id);
              if (perturbation === 'remove-network') {
                const networks = world.networks.filter((n) => n.labels[Label.taskId] === TASK);
                docker.removeNetworkExternally(networks[pick % networks.length]!.id);
              }
              if (perturbation === 'restart-daemon') docker.restartDaemon();
              await next;
            }
            await expectConverged(docker, desired);
          } finally {
            subscription.unsubscribe();
            refresh$.complete();
          }
          await down(docker, desired.owner, { pollIntervalMs: 5 });
          expect(docker.world()).toEqual({ containers: [], networks: [] });
        },
      ),
      { numRuns: 30 * SCALE },
    );
  });

  it('catches a planner that forgets orphans, and one that removes an object that is not ours', async () => {
    const forgetsOrphans = (
      d: DesiredState,
      snapshot: Parameters<typeof realPlan>[1],
      o: Parameters<typeof realPlan>[2],
    ): Plan => {
      const p = realPlan(d, snapshot, o);
      return { ...p, actions: p.actions.filter((a) => !a.cause.startsWith('orphan')) };
    };
    const removesForeign = (
      d: DesiredState,
      snapshot: Parameters<typeof realPlan>[1],
      o: Parameters<typeof realPlan>[2],
    ): Plan => {
      // Takes a same-run-named object without our labels for an orphan of ours.
      const p = realPlan(d, snapshot, o);
      const extra = snapshot.foreign
        .filter((f) => f.type === 'container')
        .map((f) => ({
          kind: 'remove-container' as const,
          id: `remove-container:${f.name}`,
          target: { type: 'container' as const, name: f.name, objectId: f.id },
          cause: 'orphan: not in desired graph',
          dependsOn: [],
          containerId: f.id,
        }));
      return { ...p, actions: [...p.actions, ...extra] };
    };
    for (const mutant of [forgetsOrphans, removesForeign]) {
      const result = await fc.check(convergenceAndSafety(mutant, 1_500), { numRuns: 30, endOnFailure: true });
      expect(result.failed).toBe(true);
    }
  });
});
