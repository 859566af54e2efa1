/**
 * What the observer knows of the scope's objects, and what it has yet to look at again. Events
 * and refresh requests only mark objects dirty or ask for a relist, never calling Docker
 * themselves; one batch at a time (single flight) relists or inspects what is marked, folds the
 * answers into the cache and emits a snapshot of it. The cache reads no stream: it is told when
 * an event stream opens, when one is lost, and when this process stalled (`event-stream.ts`).
 *
 * Once a stream is lost, what the cache holds may be stale with no event to say so, so until a
 * relist that began after the loss succeeds, no snapshot is emitted and no token is echoed.
 *
 * Docker's answers to our own actions (`KnownEffect`) are folded in as an inspect right after them
 * would show (`fold.ts`), and the events those actions cause are not inspected for: while an
 * action is in flight the events of the objects it changes are held, and once it settles each is
 * looked at only if the cache does not already show what it says (`echoes`). A `die`, an
 * `unhealthy`, a `destroy` we did not cause, a failed action's events all still are.
 */
import { Label } from '../desired-state/labels.js';
import type { ContainerSummary, DockerApi } from '../docker/client.js';
import { foldCreatedContainer, foldCreatedNetwork, foldStartedContainer } from './fold.js';
import {
  collectSnapshot,
  inspectImages,
  mapLimit,
  observeContainer,
  observeNetwork,
  sortSnapshot,
  type ObservedObject,
} from './collect.js';
import type { DaemonClock } from './daemon-clock.js';
import type { DockerEvent } from './frames.js';
import { compareListed } from './list-entry.js';
import { classify, nameFilterPattern } from './ownership.js';
import { ReadyLines } from './ready-line.js';
import { backoffDelay, type Backoff } from './retry-delay.js';
import type { ObserveScope } from './scope.js';
import {
  type ForeignObject,
  type ObservedContainer,
  type ObservedImage,
  type ObservedNetwork,
  type Snapshot,
} from './types.js';
import { isTargeted, type HeldObjects, type KnownEffect, type RefreshRequest } from './requests.js';

/**
 * Container events that say nothing about what a snapshot holds (state, health, networks, name,
 * labels): an exec's life (every health probe makes three: exec_create, exec_start, exec_die),
 * attaching, resizing, `top`, copies and exports. Inspecting after each would cost a call per
 * probe, every second, for every container with a health check. A probe whose result changes
 * the container's health is followed by its own `health_status` event.
 */
const STATELESS_CONTAINER_ACTIONS =
  /^(exec_|attach$|detach$|resize$|top$|copy$|export$|commit$|archive-path$|extract-to-dir$)/;

/** The container events a teardown still inspects a known container for (see `onEvent`). */
const TEARDOWN_NEWS = /^(destroy|rename|create)$/;

export interface SnapshotCacheOptions {
  /** Relist period, the safety net for events dockerd dropped (see `relist` for which are full). */
  relistIntervalMs: number;
  /**
   * Safety-net relists in a row that inspect only the containers whose list entry disagrees with
   * the cache; the next one inspects everything (0: every relist is full).
   */
  maxByListRelists: number;
  /** Retry backoff of a failed batch. */
  backoff: Backoff;
  /** Source of jitter, in [0, 1). */
  random: () => number;
  /** Every snapshot carries `refreshed`: the observer takes refresh requests. */
  echoTokens: boolean;
  /** Must not throw. */
  reportError: (error: unknown) => void;
  emit: (snapshot: Snapshot) => void;
}

export class SnapshotCache {
  // What we see, keyed by id.
  private readonly containers = new Map<string, ObservedContainer>();
  private readonly networks = new Map<string, ObservedNetwork>();
  private readonly foreign = new Map<string, ForeignObject>();
  private images: ObservedImage[] = [];
  private missingImages: string[] = [];
  /** Networks not ours that the scope names: as the last relist saw them (see `Snapshot.external`). */
  private external: ObservedNetwork[] | undefined;
  private time = '';
  /**
   * Per container, the daemon time (ms) its cached state is known to be at least as new as: the
   * start of the batch that inspected it, or the time of a health event applied to it.
   */
  private readonly knownAt = new Map<string, number>();
  /**
   * Objects an inspect found missing (`type:id`). Docker never reuses an id, so no later event or
   * request about one can show anything new: they are not inspected again. Grows by the objects
   * removed while this observer runs (a task's few dozen).
   */
  private readonly gone = new Set<string>();
  /**
   * Our clock (ms) when a known effect last changed an object (`type:id`): a batch that began
   * before shows it older than the cache does, and does not overwrite it.
   */
  private readonly foldedAt = new Map<string, number>();
  /**
   * Per container created by a known effect, whether Docker runs a health check in it: fixed at
   * creation, so kept across relists (ids are never reused).
   */
  private readonly healthChecks = new Map<string, boolean>();
  /**
   * Per container whose start was folded (no start time until it is inspected), a daemon time (ms)
   * by which that run had begun: the fold's. A by-list relist compares the list's `Up …` with it.
   */
  private readonly startedBy = new Map<string, number>();
  /** Actions in flight, by hold key: their events, until they settle. */
  private readonly holds = new Map<number, DockerEvent[]>();
  /** Which hold an object's events go to (`container:id`, `container-name:name`, `network:…`). */
  private readonly heldBy = new Map<string, number>();
  /**
   * An action settled since the last relist without an answer that says what it did (it failed or
   * timed out: dockerd may have done it anyway): until a relist, the cache is not `current`.
   */
  private uncertain = false;
  /**
   * A teardown has begun (`RefreshRequest.tearingDown`): no safety-net relists any more, and no
   * inspect for what befalls a container it is about to remove.
   */
  private tearingDown = false;
  /** Daemon clock minus ours, from the last relist's daemon time (ms). */
  private clockOffsetMs = 0;
  private haveBaseline = false;
  /** The daemon time the latest stream replays from, until the relist it asked for uses it. */
  private openedAt: DaemonClock | undefined;

  // What is to be done.
  /** A relist is due; `fullRelistNeeded`: one that inspects every owned container (`relist`). */
  private relistNeeded = false;
  private fullRelistNeeded = false;
  /** By-list relists since the last full one. */
  private byListInARow = 0;
  private imagesDirty = false;
  private readonly dirtyContainers = new Set<string>();
  private readonly dirtyNetworks = new Set<string>();
  private working = false;
  /** The highest refresh token received, and the highest one the current state reflects. */
  private requested = 0;
  private reflected = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  /** Event streams lost so far: a batch that saw one may show what a lost event changed. */
  private losses = 0;
  private streamOpen = false;
  private emitPending = false;
  private closed = false;

  /** Event names carry no leading `/`, so the network name pattern fits container names too. */
  private readonly candidateNamePattern: RegExp;
  /** The ready lines of the containers whose images declare one (`ready-line.ts`). */
  private readonly readyLines: ReadyLines;

  constructor(
    private readonly docker: DockerApi,
    private readonly scope: ObserveScope,
    private readonly options: SnapshotCacheOptions,
  ) {
    this.candidateNamePattern = new RegExp(nameFilterPattern(scope, 'network'));
    this.readyLines = new ReadyLines(docker, {
      changed: () => this.emitSoon(),
      reportError: (error) => options.reportError(error),
    });
  }

  /** Starts the periodic relist. */
  start(): void {
    // Disconnected too: a stream that cannot be reopened while the rest of the API answers would
    // otherwise leave the cache unwatched (each failed attempt relists as well: `connectFailed`).
    this.relistTimer = setInterval(() => this.safetyNetRelistSoon(), this.options.relistIntervalMs);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.pumpTimer);
    clearInterval(this.relistTimer);
    this.readyLines.close();
  }

  /**
   * A new stream: whatever happened while there was none left no event, so relist at once. The
   * stream replays events from `since`, so that relist bears its time and asks dockerd for none:
   * on a task's first start this takes one `/info` off the path to the first create.
   */
  streamOpened(since?: DaemonClock): void {
    this.streamOpen = true;
    this.openedAt = since;
    this.relistNeeded = true;
    this.fullRelistNeeded = true;
    this.failures = 0;
    if (this.pumpTimer !== undefined) {
      clearTimeout(this.pumpTimer);
      this.pumpTimer = undefined;
    }
    this.schedulePump();
  }

  /**
   * An attempt to open a stream failed. While there is none, nothing reports changes: a relist per
   * attempt (they back off) keeps the snapshots from going stale without anyone saying so.
   */
  connectFailed(): void {
    if (!this.streamOpen && this.haveBaseline) this.relistSoon();
  }

  /** The stream was lost: relist at once, and hold snapshots back until such a relist succeeds. */
  streamLost(): void {
    this.streamOpen = false;
    this.losses += 1;
    this.relistNeeded = true;
    this.fullRelistNeeded = true;
    this.schedulePump();
  }

  /** Looks at everything afresh in the next batch: a full relist. */
  relistSoon(): void {
    this.relistNeeded = true;
    this.fullRelistNeeded = true;
    this.schedulePump();
  }

  /**
   * The net for events dockerd dropped or skipped (periodically, and after this process stalled):
   * a relist, by list when the cache allows it (`relist`).
   */
  safetyNetRelistSoon(): void {
    if (this.tearingDown) return;
    this.relistNeeded = true;
    this.schedulePump();
  }

  /**
   * A value of `refresh$`: a request naming objects marks those, any other value asks for a
   * relist. Its token comes back on the first snapshot of a batch that began after it.
   */
  request(value: RefreshRequest | void): void {
    const request: RefreshRequest = typeof value === 'object' && value !== null ? value : {};
    // A teardown skips the net: it removes everything it knows, and gc is the net beyond it.
    if (request.tearingDown) this.tearingDown = true;
    if (request.hold) this.hold(request.hold);
    for (const effect of request.effects ?? []) this.fold(effect);
    // After the folds: the held events are weighed against what the action did.
    if (request.release !== undefined) this.release(request.release);
    if (request.release !== undefined && request.token === undefined && (request.effects?.length ?? 0) === 0)
      this.uncertain = true;
    if (request.token !== undefined) this.requested = Math.max(this.requested, request.token);
    const bare =
      !isTargeted(request) &&
      (request.effects?.length ?? 0) === 0 &&
      request.hold === undefined &&
      request.release === undefined &&
      request.tearingDown === undefined;
    if (isTargeted(request)) {
      // An empty id names nothing (a container that never ran has endpoints with no network id).
      for (const id of request.containers ?? [])
        if (id && !this.gone.has(objectKey('container', id))) this.dirtyContainers.add(id);
      for (const id of request.networks ?? [])
        if (id && !this.gone.has(objectKey('network', id))) this.dirtyNetworks.add(id);
      if (request.images) this.imagesDirty = true;
    } else if (bare && !(request.current === true && this.current())) {
      this.relistNeeded = true;
      this.fullRelistNeeded = true;
    }
    this.schedulePump();
  }

  /**
   * As fresh as a relist would make it: the stream has been open since the last relist, so every
   * change since has marked its object (the marks are looked at before the next token is echoed),
   * and every action since has settled with Docker's answer or been looked at. An object someone
   * else made with our names and labels while every event of it was lost is the one thing only a
   * relist would show; the periodic relist and garbage collection are the net for it.
   */
  private current(): boolean {
    return this.streamOpen && this.haveBaseline && !this.relistNeeded && !this.uncertain;
  }

  private hold(objects: HeldObjects): void {
    this.holds.set(objects.key, []);
    const keys = [
      ...(objects.containers ?? []).map((id) => objectKey('container', id)),
      ...(objects.containerNames ?? []).map((name) => `container-name:${name}`),
      ...(objects.networks ?? []).map((id) => objectKey('network', id)),
      ...(objects.networkNames ?? []).map((name) => `network-name:${name}`),
    ];
    for (const key of keys) this.heldBy.set(key, objects.key);
  }

  /** The action settled: its held events are taken now, as if they had just come. */
  private release(holdKey: number): void {
    const events = this.holds.get(holdKey);
    if (events === undefined) return;
    this.holds.delete(holdKey);
    for (const [key, owner] of this.heldBy) if (owner === holdKey) this.heldBy.delete(key);
    for (const event of events) this.onEvent(event);
  }

  /** An event about an object an action in flight is changing waits for the action to settle. */
  private held(event: DockerEvent): boolean {
    if (this.heldBy.size === 0 || (event.type !== 'container' && event.type !== 'network')) return false;
    const keys = [objectKey(event.type, event.actorId)];
    if (event.attributes.name !== undefined) keys.push(`${event.type}-name:${event.attributes.name}`);
    if (event.type === 'network' && event.attributes.container !== undefined)
      keys.push(objectKey('container', event.attributes.container));
    for (const key of keys) {
      const holdKey = this.heldBy.get(key);
      if (holdKey === undefined) continue;
      this.holds.get(holdKey)!.push(event);
      return true;
    }
    return false;
  }

  /**
   * Folds an action's known effect into the cache; an effect that cannot be folded (an image or a
   * network the cache does not know, a container not seen created) marks its object instead.
   */
  private fold(effect: KnownEffect): void {
    const at = Date.now();
    switch (effect.kind) {
      case 'network-created': {
        const network = foldCreatedNetwork(effect);
        if (!network || classify(this.scope, network.name, network.labels).kind !== 'ours') {
          this.dirtyNetworks.add(effect.networkId);
          return;
        }
        this.networks.set(network.id, network);
        this.foldedAt.set(objectKey('network', network.id), at);
        return;
      }
      case 'container-created': {
        const image = this.images.find((i) => i.ref === effect.options.Image);
        const folded = foldCreatedContainer(effect, image);
        if (!folded || classify(this.scope, folded.container.name, folded.container.labels).kind !== 'ours') {
          this.dirtyContainers.add(effect.containerId);
          return;
        }
        this.setFoldedContainer(folded.container, at);
        this.healthChecks.set(folded.container.id, folded.healthCheck);
        return;
      }
      case 'container-started': {
        const created = this.containers.get(effect.containerId);
        const healthCheck = this.healthChecks.get(effect.containerId);
        const started =
          created &&
          healthCheck !== undefined &&
          foldStartedContainer(created, healthCheck, (name) => this.networkIdByName(name));
        if (!started) {
          this.dirtyContainers.add(effect.containerId);
          return;
        }
        this.setFoldedContainer(started, at);
        this.startedBy.set(started.id, at + this.clockOffsetMs);
        for (const endpoint of Object.values(started.networks)) {
          const network = this.networks.get(endpoint.networkId)!;
          if (network.containerIds.includes(started.id)) continue;
          const containerIds = [...network.containerIds, started.id].sort();
          this.networks.set(network.id, { ...network, containerIds });
          this.foldedAt.set(objectKey('network', network.id), at);
        }
        return;
      }
      case 'container-removed':
        return this.foldGone('container', effect.containerId, at);
      case 'network-removed':
        return this.foldGone('network', effect.networkId, at);
    }
  }

  private setFoldedContainer(container: ObservedContainer, at: number): void {
    this.containers.set(container.id, container);
    this.foreign.delete(objectKey('container', container.id));
    this.foldedAt.set(objectKey('container', container.id), at);
    // The health logic compares event times with this (daemon clock).
    this.knownAt.set(container.id, at + this.clockOffsetMs);
  }

  /** Gone for good: out of the cache, out of its networks' member lists, never inspected again. */
  private foldGone(type: 'container' | 'network', id: string, at: number): void {
    const key = objectKey(type, id);
    this.gone.add(key);
    this.foreign.delete(key);
    this.foldedAt.set(key, at);
    if (type === 'network') {
      this.networks.delete(id);
      this.dirtyNetworks.delete(id);
      return;
    }
    this.containers.delete(id);
    this.knownAt.delete(id);
    this.startedBy.delete(id);
    this.dirtyContainers.delete(id);
    for (const network of this.networks.values()) {
      if (!network.containerIds.includes(id)) continue;
      this.networks.set(network.id, {
        ...network,
        containerIds: network.containerIds.filter((c) => c !== id),
      });
      this.foldedAt.set(objectKey('network', network.id), at);
    }
  }

  private networkIdByName(name: string): string | undefined {
    for (const network of this.networks.values()) if (network.name === name) return network.id;
    return undefined;
  }

  /**
   * The event says nothing the cache does not already show: a `create` of an object it knows, a
   * `start` of a container it holds running, a `healthy` of one it holds healthy, a `connect` or
   * `disconnect` its member lists and endpoints already show. Each holds whether the cache learnt
   * it from an inspect or from a known effect: a container leaves `running` only with a `die`, and
   * any later change of membership comes with an event of its own, which is looked at.
   */
  private echoes(event: DockerEvent): boolean {
    const { type, action, actorId } = event;
    if (action === 'create') return this.knows(type as 'container' | 'network', actorId);
    if (type === 'container') {
      const cached = this.containers.get(actorId);
      if (action === 'start') return cached?.state === 'running';
      if (action === 'health_status: healthy')
        return cached?.state === 'running' && cached.health === 'healthy';
      return false;
    }
    const network = this.networks.get(actorId);
    const containerId = event.attributes.container;
    if (!network || !containerId || (action !== 'connect' && action !== 'disconnect')) return false;
    const container = this.containers.get(containerId);
    const endpointHere = Object.values(container?.networks ?? {}).some((e) => e.networkId === actorId);
    if (action === 'connect')
      return network.containerIds.includes(containerId) && (!container || endpointHere);
    return (
      !network.containerIds.includes(containerId) &&
      !endpointHere &&
      (container !== undefined || this.gone.has(objectKey('container', containerId)))
    );
  }

  /** Runs for every event, synchronously: marks, never calls Docker. */
  onEvent(event: DockerEvent): void {
    let relevant = false;
    if (event.type === 'container' || event.type === 'network') {
      if (this.gone.has(objectKey(event.type, event.actorId))) return;
    }
    if (event.type === 'container') {
      if (STATELESS_CONTAINER_ACTIONS.test(event.action)) return;
      if (this.held(event)) return;
      if (this.beingRemoved(event.actorId) && event.action !== 'destroy') return;
      // A teardown removes every container of the task it knows, whatever its state: a die, a kill
      // or a health status before the removal changes nothing it does, and under load such events
      // spread over seconds, an inspect batch each. A destroy, a rename and what it does not know
      // yet are still looked at.
      if (this.tearingDown && this.containers.has(event.actorId) && !TEARDOWN_NEWS.test(event.action)) return;
      relevant =
        event.attributes[Label.owner] === this.scope.ownerId ||
        (this.scope.taskId !== undefined && this.isCandidateName(event.attributes.name)) ||
        this.knows('container', event.actorId);
      if (!relevant || this.echoes(event)) return;
      // An applied `healthy` is all a snapshot shows of it but the probe's output, which only an
      // `unhealthy` container's report reads (and an `unhealthy` event is inspected). A batch
      // already out (a relist after a lost stream) may answer with what it saw before the event
      // and overwrite it: then the container is looked at again after that batch.
      const applied = this.applyHealthy(event);
      if (applied) this.emitSoon();
      if (!applied || this.working) this.dirtyContainers.add(event.actorId);
    } else if (event.type === 'network') {
      if (this.held(event) || this.echoes(event)) return;
      // Network events carry no labels: a network is a candidate by its name or because we know it.
      if (this.knows('network', event.actorId) || this.isCandidateName(event.attributes.name)) {
        this.dirtyNetworks.add(event.actorId);
        relevant = true;
      }
      const containerId = event.attributes.container;
      if (containerId && this.knows('container', containerId) && !this.beingRemoved(containerId)) {
        this.dirtyContainers.add(containerId);
        relevant = true;
      }
    } else if (event.type === 'image') {
      const ref = event.attributes.name;
      relevant =
        (ref !== undefined && this.scope.images.includes(ref)) ||
        this.scope.images.includes(event.actorId) ||
        this.images.some((image) => image.id === event.actorId);
      if (relevant) this.imagesDirty = true;
    }
    if (relevant) this.schedulePump();
  }

  private isCandidateName(name: string | undefined): boolean {
    return name !== undefined && this.candidateNamePattern.test(name);
  }

  /**
   * A container seen `removing` can only go away (or, if its removal fails, be left dead, which no
   * event reports either way): the kill, die and disconnect events of its removal say nothing new,
   * and a removal under load spreads them over seconds, one inspect batch each. Its `destroy`
   * event, and the request of the removal that the loop ran, are inspected.
   */
  private beingRemoved(containerId: string): boolean {
    return this.containers.get(containerId)?.state === 'removing';
  }

  /** In the cache, as ours or as foreign. */
  private knows(type: 'container' | 'network', id: string): boolean {
    return (
      (type === 'container' ? this.containers : this.networks).has(id) ||
      this.foreign.has(objectKey(type, id))
    );
  }

  private schedulePump(delayMs = 0): void {
    if (this.closed || this.pumpTimer !== undefined) return;
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      void this.pump();
    }, delayMs);
  }

  private hasWork(): boolean {
    return (
      this.relistNeeded ||
      this.imagesDirty ||
      this.dirtyContainers.size > 0 ||
      this.dirtyNetworks.size > 0 ||
      // A request that named only objects known gone still wants its token back.
      this.requested > this.reflected
    );
  }

  /** Runs one batch for what is marked, emits its snapshot, and schedules the next if more is. */
  private async pump(): Promise<void> {
    if (this.closed || this.working || !this.hasWork()) return;
    // Before the first stream opens, a request waits for it: its relist follows the subscription.
    if (!this.haveBaseline && !this.streamOpen) return;
    this.working = true;
    let ok = false;
    // Every request up to here has marked what it named (or asked for a relist): this batch covers it.
    const covers = this.requested;
    const lossesBefore = this.losses;
    try {
      if (this.relistNeeded || !this.haveBaseline) await this.relist();
      else await this.refreshDirty();
      ok = true;
      this.failures = 0;
    } catch (error) {
      this.failures += 1;
      this.options.reportError(error);
    } finally {
      this.working = false;
    }
    if (this.closed) return;
    // Once the stream is lost, what the cache holds (beyond what this batch looked at) may be
    // stale with no event to say so: a daemon restart kills containers silently. Such a batch
    // neither emits nor vouches for a token; the relist the loss asked for does.
    if (ok && this.losses === lossesBefore) {
      this.reflected = Math.max(this.reflected, covers);
      this.options.emit(this.snapshot());
    }
    if (ok) this.readyLines.sync(this.containers.values());
    if (this.hasWork())
      this.schedulePump(ok ? 0 : backoffDelay(this.failures - 1, this.options.backoff, this.options.random));
  }

  /**
   * A full relist inspects every owned container and network. A by-list relist inspects only the
   * containers whose list entry disagrees with the cache (`list-entry.ts`: state, health, exit
   * code, a run or an exit newer than the cached one, networks, name, labels, image; a new id is
   * inspected, a missing one drops out) and keeps the cached value of the rest. It still lists,
   * inspects every owned network (a list entry carries no members) and the images.
   *
   * By list: the safety-net relists (periodic, after a stall) of a cache with a baseline, an open
   * stream and no `uncertain` action, up to `maxByListRelists` in a row. While the stream is open
   * every change but a dropped or skipped event's has marked its object, and what such an event
   * changes (a container dying, restarting, turning unhealthy, joining a network, going away)
   * shows in the list. What the list cannot show (aliases changed by a disconnect and a connect
   * that keep the address, a probe's output, the OOM flag of a container that stays exited, a
   * restart within about a second of the cached start: with relists under a minute apart the new
   * run's `Up …` is still counted in seconds when the next one looks) is left to the next full
   * relist.
   *
   * Full: the first relist (nothing to compare with); one after a lost stream or on a reconnect,
   * and while no stream is open (every event since may be missing, and an object's list entry is
   * then all that was seen of it); after an action that settled without an answer, and after a
   * failed inspect batch (the cache may lack what the action or batch did, in ways the list need
   * not show); on a bare refresh request (the loop asks to look at everything).
   */
  private async relist(): Promise<void> {
    const byList =
      !this.fullRelistNeeded &&
      this.haveBaseline &&
      this.streamOpen &&
      !this.uncertain &&
      this.byListInARow < this.options.maxByListRelists;
    this.relistNeeded = false;
    this.fullRelistNeeded = false;
    this.imagesDirty = false;
    this.uncertain = false;
    // What an event or a request marked is inspected whatever its list entry shows: the event may
    // be of a change the list does not show (a disconnect and a connect), the request an action's.
    const marked = new Set(this.dirtyContainers);
    // Events from here on mark objects dirty again, and are refreshed after this relist.
    this.dirtyContainers.clear();
    this.dirtyNetworks.clear();
    const clock = this.openedAt;
    this.openedAt = undefined;
    try {
      const localStart = Date.now();
      const next = await collectSnapshot(this.docker, this.scope, {
        ...(clock ? { time: clock.time } : {}),
        ...(byList
          ? {
              reuse: (summary, time) =>
                marked.has(summary.Id) ? undefined : this.reuseListed(summary, time),
            }
          : {}),
      });
      if (this.closed) return;
      this.replaceWith(next, localStart, clock?.localAt ?? localStart);
      this.byListInARow = byList ? this.byListInARow + 1 : 0;
      // Once inspected (or gone), a container's start time is its own.
      for (const id of this.startedBy.keys())
        if (this.containers.get(id)?.startedAt !== undefined || !this.containers.has(id))
          this.startedBy.delete(id);
    } catch (error) {
      this.relistNeeded = true;
      if (!byList) this.fullRelistNeeded = true;
      throw error;
    }
  }

  /**
   * The cached container, when its list entry agrees with it (else undefined: inspect it). A
   * started container folded from Docker's answer has no start time; `startedBy` then bounds it:
   * our clock at the fold plus the measured offset, which is never less than the true one (our
   * clock is read before dockerd is asked its time), so the bound is not before the start. It is
   * not moved on by the relists that keep the container: each would open a blind second.
   * What a known effect folds while the lists are out is newer, and `replaceWith` keeps it.
   */
  private reuseListed(summary: ContainerSummary, time: string): ObservedContainer | undefined {
    const cached = this.containers.get(summary.Id);
    if (!cached) return undefined;
    const verdict = compareListed(summary, cached, {
      listedAfterMs: Date.parse(time),
      runningByMs: this.startedBy.get(summary.Id),
    });
    return verdict.kind === 'agrees' ? verdict.container : undefined;
  }

  /**
   * The cache becomes a relist's result; `localStart` is our clock when the relist began, and
   * `localAtTime` ours when the daemon gave the snapshot's time (earlier, when the stream's was used).
   */
  private replaceWith(next: Snapshot, localStart: number, localAtTime: number): void {
    const daemonStart = Date.parse(next.time);
    if (!Number.isNaN(daemonStart)) this.clockOffsetMs = daemonStart - localAtTime;
    // What a known effect changed after the relist began is newer than what the relist saw.
    const newer = (type: 'container' | 'network', id: string) =>
      (this.foldedAt.get(objectKey(type, id)) ?? -Infinity) > localStart;
    const keptContainers = [...this.containers.values()].filter((c) => newer('container', c.id));
    const keptNetworks = [...this.networks.values()].filter((n) => newer('network', n.id));
    const keptKnownAt = new Map(keptContainers.map((c) => [c.id, this.knownAt.get(c.id)]));
    this.containers.clear();
    this.networks.clear();
    this.foreign.clear();
    this.knownAt.clear();
    for (const c of next.containers) {
      if (newer('container', c.id) || this.gone.has(objectKey('container', c.id))) continue;
      this.containers.set(c.id, c);
      this.knownAt.set(c.id, daemonStart);
    }
    for (const c of keptContainers) {
      this.containers.set(c.id, c);
      const at = keptKnownAt.get(c.id);
      if (at !== undefined) this.knownAt.set(c.id, at);
    }
    for (const n of next.networks) {
      if (newer('network', n.id) || this.gone.has(objectKey('network', n.id))) continue;
      // A container removed after it was listed is not on the network any more.
      const containerIds = n.containerIds.filter((id) => !this.gone.has(objectKey('container', id)));
      this.networks.set(n.id, containerIds.length === n.containerIds.length ? n : { ...n, containerIds });
    }
    for (const n of keptNetworks) this.networks.set(n.id, n);
    for (const f of next.foreign) {
      if (!newer(f.type, f.id) && !this.gone.has(objectKey(f.type, f.id)))
        this.foreign.set(objectKey(f.type, f.id), f);
    }
    this.images = next.images;
    this.missingImages = next.missingImages;
    this.external = next.external;
    this.time = next.time;
    this.haveBaseline = true;
  }

  private async refreshDirty(): Promise<void> {
    const containerIds = [...this.dirtyContainers].sort();
    const networkIds = [...this.dirtyNetworks].sort();
    const withImages = this.imagesDirty;
    this.dirtyContainers.clear();
    this.dirtyNetworks.clear();
    this.imagesDirty = false;
    try {
      // The daemon's clock from ours and the offset the last relist measured: asking dockerd
      // (`/info`, one of its costlier calls) would cost a call per event burst.
      const localStart = Date.now();
      const nowMs = localStart + this.clockOffsetMs;
      const newer = (type: 'container' | 'network', id: string) =>
        (this.foldedAt.get(objectKey(type, id)) ?? -Infinity) > localStart;
      const now = new Date(nowMs).toISOString();
      const [containerResults, networkResults, imageResults] = await Promise.all([
        mapLimit(containerIds, (id) => observeContainer(this.docker, this.scope, id)),
        mapLimit(networkIds, (id) => observeNetwork(this.docker, this.scope, id)),
        withImages ? inspectImages(this.docker, this.scope.images) : undefined,
      ]);
      if (this.closed) return;
      containerIds.forEach((id, i) => {
        // A health event applied while this inspect was out may be newer than what it saw; the
        // event marked the container dirty again, and the next batch settles it.
        if ((this.knownAt.get(id) ?? -Infinity) > nowMs || newer('container', id)) return;
        this.apply('container', id, containerResults[i]!);
        if (this.containers.has(id)) this.knownAt.set(id, nowMs);
        else this.knownAt.delete(id);
      });
      networkIds.forEach((id, i) => {
        if (!newer('network', id)) this.apply('network', id, networkResults[i]!);
      });
      if (imageResults) ({ images: this.images, missingImages: this.missingImages } = imageResults);
      this.time = now;
    } catch (error) {
      // The relist, not the same inspects again: one id that keeps failing would otherwise hold
      // every snapshot back until the periodic relist. A full one: the ids it failed on are no
      // longer marked, and their list entries need not show why they were.
      this.relistNeeded = true;
      this.fullRelistNeeded = true;
      throw error;
    }
  }

  private apply(type: 'container' | 'network', id: string, result: ObservedObject): void {
    (type === 'container' ? this.containers : this.networks).delete(id);
    this.foreign.delete(objectKey(type, id));
    if (result.kind === 'container') this.containers.set(id, result.container);
    else if (result.kind === 'network') this.networks.set(id, result.network);
    else if (result.kind === 'foreign') this.foreign.set(objectKey(type, id), result.foreign);
    else if (result.kind === 'gone') this.gone.add(objectKey(type, id));
  }

  /**
   * A `healthy` event is all readiness needs to know of a running container: applied to the cache
   * at once, readiness is seen without waiting for the inspect batch ahead of it (which, with
   * twenty services turning healthy together, costs ~100 ms). Only an event newer than what the
   * cache knows of the container counts (`since` replays old ones); its inspect still follows,
   * with the probe's output. `unhealthy` waits for that inspect: its report needs the output.
   */
  private applyHealthy(event: DockerEvent): boolean {
    if (event.action !== 'health_status: healthy' || this.relistNeeded || !this.haveBaseline) return false;
    const cached = this.containers.get(event.actorId);
    const at = event.timeNano === undefined ? Number.NaN : Number(event.timeNano) / 1e6;
    if (cached?.state !== 'running' || cached.health === 'healthy') return false;
    if (!(at > (this.knownAt.get(event.actorId) ?? Infinity))) return false;
    const { lastHealthOutput: _unknownUntilInspected, ...rest } = cached;
    this.containers.set(event.actorId, { ...rest, health: 'healthy' });
    this.knownAt.set(event.actorId, at);
    return true;
  }

  /** One snapshot of the cache for a burst of applied events, unless a loss makes it suspect. */
  private emitSoon(): void {
    if (this.emitPending) return;
    this.emitPending = true;
    const lossesBefore = this.losses;
    setImmediate(() => {
      this.emitPending = false;
      if (!this.closed && this.losses === lossesBefore && !this.relistNeeded) {
        this.options.emit(this.snapshot());
        // A folded start shows a running container with no batch after it: follow its log now.
        this.readyLines.sync(this.containers.values());
      }
    });
  }

  private snapshot(): Snapshot {
    return sortSnapshot({
      time: this.time,
      // With refresh requests, always: a loop that sent a token must not take a snapshot made
      // before any request (0) for one from a source that has no tokens at all.
      ...(this.options.echoTokens ? { refreshed: this.reflected } : {}),
      containers: [...this.containers.values()].map((c) => this.readyLines.present(c)),
      networks: [...this.networks.values()],
      images: [...this.images],
      missingImages: [...this.missingImages],
      foreign: [...this.foreign.values()],
      ...(this.external ? { external: [...this.external] } : {}),
    });
  }
}

/** `type:id`: container and network ids are drawn apart, but keys never rely on it. */
function objectKey(type: 'container' | 'network', id: string): string {
  return `${type}:${id}`;
}
