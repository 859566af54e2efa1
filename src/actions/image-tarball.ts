/**
 * The byte path of an image artifact, between the download and `docker load`: decompression by
 * the artifact name's suffix, and a rewrite of the tarball that drops the image names it carries.
 *
 * `docker load` tags an image with every name its tarball's `manifest.json` (or `repositories`, or
 * an OCI `index.json` annotation) lists, moving those tags on the whole host: an artifact naming
 * itself `docker-services/proxy:latest` or `postgres:16` would swap another task's image. So names
 * are stripped on the fly (the small JSON entries are rewritten, the layers pass through), the
 * engine reports the loaded image by id, and the executor tags it under our own reference only.
 *
 * Decompression runs Debian's `zstd` and `lz4` (the reference implementations) as child processes:
 * they stream at native speed, and the packaged single-file executable could not carry a native
 * npm addon, while the pure-JS decoders are several times slower or unmaintained.
 */
import { spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import tar from 'tar-stream';
import type { ArtifactCompression } from '../desired-state/image-source.js';

/** A decoder that cannot run here, or that found the stream corrupt: fetching again does not help. */
export class ArtifactDecodeError extends Error {
  override readonly name = 'ArtifactDecodeError';
}

const DECODERS: Record<Exclude<ArtifactCompression, 'none'>, { command: string; package: string }> = {
  zstd: { command: 'zstd', package: 'zstd' },
  lz4: { command: 'lz4', package: 'lz4' },
};

/** `compressed` decompressed as it arrives; the same stream for `none`. */
export function decompressed(compressed: Readable, compression: ArtifactCompression): Readable {
  if (compression === 'none') return compressed;
  const decoder = DECODERS[compression];
  const child = spawn(decoder.command, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  // The output ends only once the decoder has exited 0: a corrupt stream must not look like a short one.
  const output = new PassThrough();
  child.stdout.pipe(output, { end: false });
  compressed.once('error', (error) => output.destroy(error));
  child.stdin.on('error', () => {}); // EPIPE once the decoder quits: its exit says why.
  compressed.pipe(child.stdin);
  child.once('error', (error: NodeJS.ErrnoException) =>
    output.destroy(
      error.code === 'ENOENT'
        ? new ArtifactDecodeError(
            `${decoder.command} is not installed on this worker (fix: install the Debian package ${decoder.package})`,
          )
        : error,
    ),
  );
  child.once('close', (code, signal) => {
    if (output.destroyed) return;
    if (code === 0) {
      output.end();
      return;
    }
    const why = stderr.trim().split('\n').at(-1) ?? '';
    output.destroy(
      new ArtifactDecodeError(
        `not a valid ${compression} stream (${decoder.command} ${signal ?? `exited ${code}`}${why ? `: ${why}` : ''})`,
      ),
    );
  });
  output.once('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return output;
}

/** The JSON entries that name images: small, so they are read whole; anything bigger is refused. */
const MAX_NAMING_ENTRY_BYTES = 4 * 1024 * 1024;
/** Annotations by which an OCI layout names an image (containerd's and the OCI spec's). */
const NAME_ANNOTATIONS = ['io.containerd.image.name', 'org.opencontainers.image.ref.name'];

/** `tarball` with every image name removed: `manifest.json` without `RepoTags`, no `repositories`. */
export function withoutImageNames(tarball: Readable): Readable {
  const extract = tar.extract();
  const pack = tar.pack();
  tarball.once('error', (error) => extract.destroy(error));
  tarball.pipe(extract);
  (async () => {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/^(\.\/)+/, '');
      if (name === 'repositories') {
        entry.resume();
        continue;
      }
      if (name === 'manifest.json' || name === 'index.json') {
        const rewritten = Buffer.from(unnamed(name, await readWhole(entry)));
        await addEntry(pack, { ...entry.header, size: rewritten.length }, rewritten);
        continue;
      }
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry(entry.header, (error) => (error ? reject(error) : resolve()));
        entry.once('error', reject);
        entry.pipe(sink);
      });
    }
    pack.finalize();
  })().catch((error: unknown) => {
    extract.destroy(error as Error);
    pack.destroy(error as Error);
  });
  return Readable.from(pack);
}

function unnamed(name: 'manifest.json' | 'index.json', text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ArtifactDecodeError(`the tarball's ${name} is not JSON: not a docker save tarball`);
  }
  if (name === 'manifest.json' && Array.isArray(json))
    return JSON.stringify(json.map((image: Record<string, unknown>) => ({ ...image, RepoTags: [] })));
  if (name === 'index.json' && json !== null && typeof json === 'object') {
    const index = json as { manifests?: { annotations?: Record<string, string> }[] };
    for (const manifest of index.manifests ?? [])
      for (const key of NAME_ANNOTATIONS) delete manifest.annotations?.[key];
    return JSON.stringify(index);
  }
  return text;
}

async function readWhole(entry: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of entry) {
    bytes += (chunk as Buffer).length;
    if (bytes > MAX_NAMING_ENTRY_BYTES)
      throw new ArtifactDecodeError(`the tarball's manifest is over ${MAX_NAMING_ENTRY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function addEntry(pack: tar.Pack, header: tar.Header, content: Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    pack.entry(header, content, (error) => (error ? reject(error) : resolve())),
  );
}
