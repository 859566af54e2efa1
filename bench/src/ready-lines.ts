/**
 * The floor's and the bench's wait for a proxy's ready line: the same signal the library reads
 * (`src/observed-state/ready-line.ts`: the image declares the text in a label, the proxy prints it
 * once it listens), on a `logs?follow=1` connection per proxy, closed once the line is seen.
 */
import type { DockerApi } from '../../src/docker/client.js';
import { LineMatcher, LogFrames } from '../../src/observed-state/ready-line.js';
import { withDeadline } from './common.js';

/** Resolves once each container named has printed a line containing `text`. */
export async function waitReadyLines(
  docker: DockerApi,
  names: readonly string[],
  text: string,
  timeoutMs: number,
): Promise<void> {
  await Promise.all(
    names.map((name) =>
      withDeadline(
        `ready line of ${name}`,
        timeoutMs,
        docker.followLogs(name, '0').then(
          (stream) =>
            new Promise<void>((resolve, reject) => {
              const matcher = new LineMatcher(text);
              const frames = new LogFrames((payload) => {
                if (!matcher.push(payload)) return;
                stream.destroy();
                resolve();
              });
              stream.on('data', (chunk: Buffer) => frames.push(chunk));
              stream.on('error', reject);
              stream.on('end', () => reject(new Error(`${name} stopped before it printed "${text}"`)));
            }),
        ),
      ),
    ),
  );
}
