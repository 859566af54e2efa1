/**
 * What "converged" means, checked against the engine model directly and not through the planner:
 * every desired network and container exists by its name with its ownership labels; containers
 * run (healthy where checked) the node's image with its bound spec hash, attached to exactly
 * their networks with their aliases, or in the network namespace of the container they join;
 * nothing else of the task run exists.
 */
import { expect } from '@jest/globals';
import { bindImages, resolveImage } from '../../src/desired-state/images.js';
import { Label } from '../../src/desired-state/labels.js';
import type { DesiredState, ResolvedImage } from '../../src/desired-state/types.js';
import type { FakeDocker } from '../support/fake-docker.js';

export async function expectConverged(docker: FakeDocker, desired: DesiredState): Promise<void> {
  const world = docker.world();
  const { ownerId, taskId, runId } = desired.owner;
  const ofRun = (labels: Record<string, string>) =>
    labels[Label.owner] === ownerId &&
    labels[Label.taskId] === taskId &&
    labels[Label.runId] === String(runId);
  const resolved = new Map<string, ResolvedImage>();
  for (const container of desired.containers) {
    for (const ref of [container.image, container.imageKeyOf]) {
      if (ref === undefined || resolved.has(ref)) continue;
      const inspect = await docker.inspectImage(ref);
      if (inspect)
        resolved.set(
          ref,
          resolveImage(ref, {
            id: inspect.Id,
            repoDigests: inspect.RepoDigests ?? [],
            labels: inspect.Config?.Labels ?? {},
          }),
        );
    }
  }
  const networkName = new Map(desired.networks.map((n) => [n.id, n.name]));

  expect(
    world.networks
      .filter((n) => ofRun(n.labels))
      .map((n) => n.name)
      .sort(),
  ).toEqual(desired.networks.map((n) => n.name).sort());
  for (const network of desired.networks) {
    const observed = world.networks.filter((n) => n.name === network.name);
    expect(observed).toHaveLength(1);
    expect(observed[0]!.labels).toEqual(network.labels);
  }
  expect(
    world.containers
      .filter((c) => ofRun(c.labels))
      .map((c) => c.name)
      .sort(),
  ).toEqual(desired.containers.map((c) => c.name).sort());
  const ids = new Map(world.containers.filter((c) => ofRun(c.labels)).map((c) => [c.name, c.id]));
  const nameOf = new Map(desired.containers.map((c) => [c.id, c.name]));
  for (const node of desired.containers) {
    // A container in another's network namespace is bound to that container's id.
    const owner =
      node.networkNamespaceOf === undefined ? undefined : ids.get(nameOf.get(node.networkNamespaceOf)!);
    if (node.networkNamespaceOf !== undefined) expect(owner).toBeDefined();
    const bound = bindImages(node, (ref) => resolved.get(ref), owner);
    expect(bound).toBeDefined();
    const observed = world.containers.filter((c) => c.name === node.name);
    expect(observed).toHaveLength(1);
    const container = observed[0]!;
    if (owner !== undefined)
      expect((await docker.inspectContainer(container.id))?.HostConfig.NetworkMode).toBe(
        `container:${owner}`,
      );
    expect(container.status).toBe('running');
    expect(container.image).toBe(node.image);
    expect(container.labels[Label.specHash]).toBe(bound!.specHash);
    for (const key of [Label.owner, Label.taskId, Label.runId, Label.node, Label.role]) {
      expect(container.labels[key]).toBe(node.labels[key]);
    }
    const shortId = container.id.slice(0, 12);
    const attached = Object.fromEntries(
      Object.entries(container.networks).map(([name, aliases]) => [
        name,
        aliases.filter((a) => a !== shortId).sort(),
      ]),
    );
    expect(attached).toEqual(
      Object.fromEntries(node.networks.map((a) => [networkName.get(a.network)!, [...a.aliases].sort()])),
    );
    const health = docker.health(container.id);
    if (health !== undefined) expect(health).toBe('healthy');
  }
}
