/**
 * The mapping from Docker's wire JSON, checked against real `docker inspect` output captured from
 * the engine (fixtures/docker/capture.sh).
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { ContainerInspect, ImageInspect, NetworkInspect } from '../../src/docker/client.js';
import {
  containerName,
  dockerTime,
  mapContainer,
  mapImage,
  mapNetwork,
} from '../../src/observed-state/map.js';
import { Label } from '../../src/desired-state/labels.js';

function fixture<T>(name: string): T {
  return JSON.parse(
    readFileSync(new URL(`../../fixtures/docker/${name}.json`, import.meta.url), 'utf8'),
  ) as T;
}
const container = (state: string) => mapContainer(fixture<ContainerInspect>(`container-${state}`));
const prefix = 'ds-FixtureTaskId0000000000-0';

describe('mapContainer on captured inspect output', () => {
  it('maps a created container: no start or finish time, no health, no networks but none', () => {
    const c = container('created');
    expect(c.name).toBe(`${prefix}-created`);
    expect(c.state).toBe('created');
    expect(c.exitCode).toBe(0);
    expect(c.oomKilled).toBe(false);
    expect(c.health).toBe('none');
    expect(c.lastHealthOutput).toBeUndefined();
    expect(c.createdAt).toMatch(/^20\d\d-/);
    expect(c.startedAt).toBeUndefined();
    expect(c.finishedAt).toBeUndefined();
    expect(Object.keys(c.networks)).toEqual(['none']);
    expect(c.image).toBe('ds-fixtures/busybox:latest');
    expect(c.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(c.id).toMatch(/^[0-9a-f]{64}$/);
    expect(c.labels[Label.owner]).toBe('fixture-owner');
    expect(c.labels[Label.taskId]).toBe('FixtureTaskId0000000000');
  });

  it('maps a running container on two networks with its aliases, without the short-id alias Docker adds', () => {
    const c = container('running');
    expect(c.state).toBe('running');
    expect(c.startedAt).toMatch(/^20\d\d-/);
    expect(Object.keys(c.networks)).toEqual([prefix, `${prefix}_db`]);
    expect(c.networks[prefix]!.aliases).toEqual(['database', 'db']);
    expect(c.networks[`${prefix}_db`]!.aliases).toEqual(['db-private']);
    const network = mapNetwork(fixture<NetworkInspect>('network-with-endpoints'));
    expect(c.networks[prefix]!.networkId).toBe(network.id);
    expect(c.networks[prefix]!.ipAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it('maps an exited container with its exit code and finish time', () => {
    const c = container('exited');
    expect(c.state).toBe('exited');
    expect(c.exitCode).toBe(3);
    expect(c.oomKilled).toBe(false);
    expect(c.startedAt).toBeDefined();
    expect(c.finishedAt).toBeDefined();
    expect(Date.parse(c.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(c.startedAt!));
  });

  it('maps an OOM-killed container', () => {
    const c = container('oom');
    expect(c.state).toBe('exited');
    expect(c.oomKilled).toBe(true);
    expect(c.exitCode).toBe(137);
  });

  it('maps health: healthy with the last probe output, unhealthy with its trimmed output', () => {
    const healthy = container('healthy');
    expect(healthy.health).toBe('healthy');
    expect(healthy.lastHealthOutput).toBe('PONG');
    const unhealthy = container('unhealthy');
    expect(unhealthy.health).toBe('unhealthy');
    expect(unhealthy.lastHealthOutput).toBe('probe failed: not ready');
  });

  it('bounds a long probe output, keeping its tail', () => {
    const raw = fixture<ContainerInspect>('container-unhealthy');
    const long = `${'x'.repeat(5000)}the end\n`;
    raw.State.Health!.Log.push({ Start: '', End: '', ExitCode: 1, Output: long });
    const c = mapContainer(raw);
    expect(c.lastHealthOutput!.length).toBe(1024);
    expect(c.lastHealthOutput!.endsWith('the end')).toBe(true);
  });

  it('survives what Docker nulls out', () => {
    const raw = fixture<ContainerInspect>('container-created') as unknown as Record<string, unknown>;
    const config = raw.Config as Record<string, unknown>;
    config.Labels = null;
    (raw.NetworkSettings as Record<string, unknown>).Networks = null;
    (raw.State as Record<string, unknown>).Status = 'something-new';
    const c = mapContainer(raw as unknown as ContainerInspect);
    expect(c.labels).toEqual({});
    expect(c.networks).toEqual({});
    // Unknown to this version, which waits on it rather than taking it for dead.
    expect(c.state).toBe('unknown');
  });
});

describe('mapNetwork and mapImage on captured inspect output', () => {
  it('maps a network with its endpoints', () => {
    const n = mapNetwork(fixture<NetworkInspect>('network-with-endpoints'));
    expect(n.name).toBe(prefix);
    expect(n.containerIds).toEqual([container('running').id]);
    expect(n.labels[Label.role]).toBe('task-network');
    expect(Object.keys(n.labels)).toEqual([...Object.keys(n.labels)].sort());
  });

  it('maps an image under the reference asked about', () => {
    const raw = fixture<ImageInspect>('image-redis');
    const image = mapImage('ds-fixtures/redis:latest', raw);
    expect(image.ref).toBe('ds-fixtures/redis:latest');
    expect(image.id).toBe(raw.Id);
    expect(image.id).toBe(container('healthy').imageId);
    expect(image.repoDigests).toEqual([]);
  });
});

describe('helpers', () => {
  it("turns Docker's zero time into undefined and keeps real times", () => {
    expect(dockerTime('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(dockerTime('')).toBeUndefined();
    expect(dockerTime('2024-01-02T03:04:05.123456789Z')).toBe('2024-01-02T03:04:05.123456789Z');
  });
  it('drops only one leading slash of a name', () => {
    expect(containerName('/ds-a-0')).toBe('ds-a-0');
    expect(containerName('ds-a-0')).toBe('ds-a-0');
  });
});
