/**
 * What the library's action events say an action acts on: its target, node and service, from the
 * desired graph, else from the labels of the object the snapshot shows.
 */
import { describe, expect, it } from '@jest/globals';
import type { Snapshot } from '../../src/observed-state/types.js';
import type { Action, ActionTarget } from '../../src/reconciler/actions.js';
import { describeAction } from '../../src/reconciler/describe.js';
import {
  BASE_OWNER,
  BASE_TIME,
  buildDesired,
  names,
  objectId,
  observedContainer,
  observedNetwork,
  ownerLabels,
} from '../support/builders.js';
import { Label } from '../../src/desired-state/labels.js';

const desired = buildDesired([{ name: 'db', image: 'postgres:16' }]);
const n = names(BASE_OWNER);
const proxy = desired.containers.find((c) => c.role === 'proxy')!;
const taskNetwork = desired.networks[0]!;

/** A service `cache` of an earlier graph: only the snapshot still knows it. */
const orphanName = n.service('cache');
const orphanNetworkName = `${n.taskNetwork}_old`;
const snapshot: Snapshot = {
  time: BASE_TIME,
  containers: [observedContainer(orphanName, { ...ownerLabels(BASE_OWNER), [Label.service]: 'cache' })],
  networks: [observedNetwork(orphanNetworkName, { ...ownerLabels(BASE_OWNER), [Label.service]: 'queue' })],
  images: [],
  missingImages: [],
  foreign: [],
};

function removeContainer(name: string, containerId: string): Action {
  return {
    kind: 'remove-container',
    id: `remove-container:${name}`,
    target: { type: 'container', name, objectId: containerId },
    cause: 'orphan: not in desired graph',
    dependsOn: [],
    containerId,
  };
}

function removeNetwork(target: ActionTarget, networkId: string): Action {
  return {
    kind: 'remove-network',
    id: `remove-network:${target.name}`,
    target,
    cause: 'orphan: not in desired graph',
    dependsOn: [],
    networkId,
  };
}

describe('describeAction', () => {
  it("a created container: its node and the service of the graph's node", () => {
    const action: Action = {
      kind: 'create-container',
      id: `create-container:${proxy.name}`,
      target: { type: 'container', name: proxy.name, node: proxy.id },
      cause: 'not found',
      dependsOn: ['create-network:x'],
      container: proxy,
      network: { name: taskNetwork.name, aliases: ['db'] },
    };
    expect(describeAction(action, desired, undefined)).toEqual({
      id: `create-container:${proxy.name}`,
      kind: 'create-container',
      cause: 'not found',
      target: { type: 'container', name: proxy.name, node: proxy.id },
      node: proxy.id,
      service: 'db',
    });
  });

  it('a created network: the service of its node, none for the task network', () => {
    const action: Action = {
      kind: 'create-network',
      id: `create-network:${taskNetwork.name}`,
      target: { type: 'network', name: taskNetwork.name, node: taskNetwork.id },
      cause: 'not found',
      dependsOn: [],
      network: { ...taskNetwork, role: 'service-network', service: 'db' },
    };
    expect(describeAction(action, desired, snapshot).service).toBe('db');
    expect(describeAction({ ...action, network: taskNetwork }, desired, snapshot).service).toBeUndefined();
  });

  it('a start of an existing container, found in the graph by its name alone or by its node alone', () => {
    const start = (target: Action['target']): Action => ({
      kind: 'start-container',
      id: `start-container:${proxy.name}`,
      target,
      cause: 'created',
      dependsOn: [],
      container: proxy.name,
    });
    const byName = describeAction(start({ type: 'container', name: proxy.name }), desired, undefined);
    expect(byName.service).toBe('db');
    expect(byName.node).toBeUndefined();
    expect(
      describeAction(start({ type: 'container', name: 'renamed', node: proxy.id }), desired, undefined),
    ).toMatchObject({ node: proxy.id, service: 'db' });
    // The graph decides, even where the snapshot does not show the container.
    expect(describeAction(start({ type: 'container', name: proxy.name }), desired, snapshot).service).toBe(
      'db',
    );
  });

  it('a network of the graph found by its node or its name', () => {
    const remove = (target: ActionTarget): Action =>
      removeNetwork(target, objectId('network', taskNetwork.name));
    const serviceNetwork = {
      ...taskNetwork,
      id: 'network/service/db',
      name: `${n.taskNetwork}_dbnet`,
      service: 'db',
    };
    const graph = { ...desired, networks: [taskNetwork, serviceNetwork] };
    expect(
      describeAction(remove({ type: 'network', name: 'gone', node: serviceNetwork.id }), graph, undefined)
        .service,
    ).toBe('db');
    expect(
      describeAction(remove({ type: 'network', name: serviceNetwork.name }), graph, undefined).service,
    ).toBe('db');
  });

  it('an orphan container: its service from the labels of the object the snapshot shows, by name or by id', () => {
    const containerId = snapshot.containers[0]!.id;
    expect(describeAction(removeContainer(orphanName, containerId), desired, snapshot)).toEqual({
      id: `remove-container:${orphanName}`,
      kind: 'remove-container',
      cause: 'orphan: not in desired graph',
      target: { type: 'container', name: orphanName, objectId: containerId },
      service: 'cache',
    });
    expect(describeAction(removeContainer('renamed', containerId), desired, snapshot).service).toBe('cache');
    expect(describeAction(removeContainer(orphanName, 'other-id'), desired, snapshot).service).toBe('cache');
    expect(describeAction(removeContainer('renamed', 'other-id'), desired, snapshot).service).toBeUndefined();
    // Without a snapshot there is nothing to read labels from.
    expect(
      describeAction(removeContainer(orphanName, containerId), desired, undefined).service,
    ).toBeUndefined();
  });

  it('an orphan network: its service from the labels of the network, never of a container of that name', () => {
    const networkId = snapshot.networks[0]!.id;
    const removal = (name: string, id: string): Action =>
      removeNetwork({ type: 'network', name, objectId: id }, id);
    expect(describeAction(removal(orphanNetworkName, networkId), desired, snapshot).service).toBe('queue');
    expect(describeAction(removal('renamed', networkId), desired, snapshot).service).toBe('queue');
    expect(describeAction(removal(orphanNetworkName, 'other-id'), desired, snapshot).service).toBe('queue');
    // A network named like the orphan container is not that container.
    expect(describeAction(removal(orphanName, 'other-id'), desired, snapshot).service).toBeUndefined();
  });

  it("a disconnect: the container detached, named or not, and whether it is someone else's", () => {
    const networkId = snapshot.networks[0]!.id;
    const disconnect = (extra: { container?: string; foreign?: boolean }): Action => ({
      kind: 'disconnect-network',
      id: `disconnect-network:${orphanNetworkName}:c1`,
      target: { type: 'network', name: orphanNetworkName, objectId: networkId },
      cause: 'orphan: not in desired graph',
      dependsOn: [],
      networkId,
      containerId: 'c1',
      ...extra,
    });
    expect(describeAction(disconnect({ container: 'stranger', foreign: true }), desired, snapshot)).toEqual({
      id: `disconnect-network:${orphanNetworkName}:c1`,
      kind: 'disconnect-network',
      cause: 'orphan: not in desired graph',
      target: { type: 'network', name: orphanNetworkName, objectId: networkId },
      service: 'queue',
      detached: { containerId: 'c1', container: 'stranger', foreign: true },
    });
    expect(describeAction(disconnect({}), desired, snapshot).detached).toEqual({
      containerId: 'c1',
      foreign: false,
    });
  });

  it('copies the target: changing the description leaves the plan as it was', () => {
    const action = removeContainer(orphanName, 'x');
    describeAction(action, desired, snapshot).target.name = 'changed';
    expect(action.target.name).toBe(orphanName);
  });
});
