/**
 * `DaemonClockSource` against a scripted daemon whose clock runs at an offset from ours and whose
 * `/info` takes time: an estimated clock is never later than the daemon's (a late `since` loses
 * events), its offset bound never below the true offset, and a stepped-back daemon is caught.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { DockerApi } from '../../src/docker/client.js';
import { DaemonClockSource } from '../../src/observed-state/daemon-clock.js';

/**
 * Our clock is `local.now`; the daemon's reads `now + offsetMs`. An `/info` takes `latencyMs`,
 * and the daemon reads its clock `readAt` of the way through (0: as it is asked, 1: as it answers).
 * `failNext`: the next `/info` fails.
 */
function scripted(offsetMs: number, latencyMs = 20) {
  const local = { now: 1_000_000, offsetMs, latencyMs, readAt: 0.5, failNext: false };
  let calls = 0;
  const docker = {
    systemTime: async () => {
      calls += 1;
      if (local.failNext) {
        local.failNext = false;
        throw new Error('info: daemon busy');
      }
      const read = local.now + local.latencyMs * local.readAt + local.offsetMs;
      local.now += local.latencyMs;
      return new Date(read).toISOString();
    },
  } as unknown as DockerApi;
  const source = new DaemonClockSource(docker, { now: () => local.now });
  return { local, source, calls: () => calls };
}

describe('DaemonClockSource', () => {
  it('asks the daemon for the first stream, and gives its answer as it is', async () => {
    const d = scripted(3_000);
    const asked = d.local.now;
    const reading = await d.source.read();
    expect(d.calls()).toBe(1);
    expect(reading.check).toBeUndefined();
    expect(reading.clock).toEqual({ time: new Date(asked + 10 + 3_000).toISOString(), localAt: asked });
  });

  it('gives a later stream a time from what it measured without waiting for `/info`, and a check to make once the stream is open', async () => {
    const d = scripted(3_000);
    await d.source.read();
    d.local.now += 60_000;
    const readAt = d.local.now;
    const { clock, check } = await d.source.read();
    // No `/info` on the way: the check is the stream's to make once it is open.
    expect(d.calls()).toBe(1);
    // Not after the daemon's clock at the read, by no more than the first measure's spread + margin.
    const daemonAtRead = readAt + 3_000;
    const time = Date.parse(clock.time);
    expect(time).toBeLessThanOrEqual(daemonAtRead);
    expect(time).toBeGreaterThanOrEqual(daemonAtRead - 20 - 50);
    expect(time - clock.localAt).toBeGreaterThanOrEqual(3_000);
    await expect(check!()).resolves.toBe(true);
    expect(d.calls()).toBe(2);
  });

  it("finds the estimate wrong when the daemon's clock was stepped back, not when it went forward", async () => {
    const d = scripted(3_000);
    await d.source.read();
    d.local.offsetMs = 2_000;
    await expect((await d.source.read()).check!()).resolves.toBe(false);

    const e = scripted(3_000);
    await e.source.read();
    e.local.offsetMs = 4_000;
    await expect((await e.source.read()).check!()).resolves.toBe(true);
  });

  it('asks again before the stream when the last measure is old, was slow, failed, or estimating is off', async () => {
    const old = scripted(0);
    await old.source.read();
    old.local.now += 16 * 60_000;
    expect((await old.source.read()).check).toBeUndefined();
    expect(old.calls()).toBe(2);

    const slow = scripted(0, 800);
    await slow.source.read();
    expect((await slow.source.read()).check).toBeUndefined();

    const failed = scripted(0);
    await failed.source.read();
    failed.local.failNext = true;
    // A check that could not be made keeps the stream, and the next one is measured first.
    await expect((await failed.source.read()).check!()).resolves.toBe(true);
    expect(failed.local.failNext).toBe(false);
    expect((await failed.source.read()).check).toBeUndefined();

    let calls = 0;
    const always = new DaemonClockSource(
      {
        systemTime: async () => (calls++, new Date().toISOString()),
      } as unknown as DockerApi,
      { estimate: false },
    );
    for (let i = 0; i < 3; i++) expect((await always.read()).check).toBeUndefined();
    expect(calls).toBe(3);
  });

  it('never gives a time after the daemon’s nor an offset bound below the true one, whatever the offset, latency and wait', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: -86_400_000, max: 86_400_000 }),
        fc.integer({ min: 0, max: 500 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 15 * 60_000 - 1_000 }),
        async (offsetMs, latencyMs, readAt, waitMs) => {
          const d = scripted(offsetMs, latencyMs);
          d.local.readAt = readAt;
          await d.source.read();
          d.local.now += waitMs;
          const at = d.local.now;
          const { clock, check } = await d.source.read();
          const time = Date.parse(clock.time);
          // Whole milliseconds: the daemon's reading may fall between two.
          expect(time).toBeLessThanOrEqual(at + offsetMs + 1);
          expect(time - clock.localAt).toBeGreaterThanOrEqual(offsetMs - 1);
          if (check) await expect(check()).resolves.toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
