/**
 * A task's graph and what Docker shows of it, built by hand for the library's unit tests: task
 * `T1`, run 0, owner `w1`; container names as compile makes them.
 */
import { Label } from '../../../src/desired-state/labels.js';
import type { ContainerNode, DesiredState } from '../../../src/desired-state/types.js';
import type { ObservedContainer, Snapshot } from '../../../src/observed-state/types.js';

export const owner = { ownerId: 'w1', taskId: 'T1', runId: 0 };

export function node(
  service: string,
  role: 'service' | 'proxy',
  over: Partial<ContainerNode> = {},
): ContainerNode {
  const name = role === 'proxy' ? `ds-T1-0_${service}_proxy` : `ds-T1-0_${service}`;
  return {
    kind: 'container',
    id: `container/${role}/${service}`,
    name,
    role,
    service,
    image: role === 'proxy' ? 'proxy:1' : `${service}:1`,
    env: {},
    limits: { memoryBytes: 64 * 1024 * 1024, pidsLimit: 64, logMaxBytes: 1 << 20 },
    networks: [],
    dependsOn: [],
    needsCredentials: role === 'proxy',
    labels: {},
    specHash: 'h',
    ...over,
  };
}

export function desired(nodes: ContainerNode[]): DesiredState {
  return { owner, networks: [], containers: nodes, images: [...new Set(nodes.map((n) => n.image))] };
}

export function observed(n: ContainerNode, over: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: `id-${n.name}`,
    name: n.name,
    labels: {
      [Label.owner]: 'w1',
      [Label.taskId]: 'T1',
      [Label.runId]: '0',
      [Label.role]: n.role,
      [Label.service]: n.service,
    },
    image: n.image,
    imageId: 'sha256:1',
    state: 'running',
    exitCode: 0,
    oomKilled: false,
    health: 'none',
    networks: {},
    startedAt: '2026-01-01T00:00:00Z',
    ...over,
  };
}

export function snap(containers: ObservedContainer[], foreign: Snapshot['foreign'] = []): Snapshot {
  return { time: 't', containers, networks: [], images: [], missingImages: [], foreign };
}
