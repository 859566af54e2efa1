/**
 * The byte path between an artifact download and `docker load`: names stripped from the tarball
 * (a load must not move tags on the host), and the decoders of `.tar.zst` and `.tar.lz4`.
 */
import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { ArtifactDecodeError, decompressed, withoutImageNames } from '../../src/actions/image-tarball.js';
import { compress } from '../support/fake-queue.js';

const LAYER = Buffer.from('layer bytes '.repeat(1000));

/** A docker save tarball in miniature: a layer, a config, and the entries that name the image. */
async function savedTarball(): Promise<Buffer> {
  const pack = tar.pack();
  // Read while writing: an entry's callback waits for the pack to be read.
  const chunks: Buffer[] = [];
  const read = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  const add = (name: string, content: string | Buffer) =>
    new Promise<void>((resolve, reject) => pack.entry({ name }, content, (e) => (e ? reject(e) : resolve())));
  await add('abc/layer.tar', LAYER);
  await add('cfg.json', '{"config":{}}');
  await add(
    'manifest.json',
    JSON.stringify([
      { Config: 'cfg.json', RepoTags: ['docker-services/proxy:latest'], Layers: ['abc/layer.tar'] },
    ]),
  );
  await add('repositories', JSON.stringify({ 'docker-services/proxy': { latest: 'abc' } }));
  await add(
    'index.json',
    JSON.stringify({
      manifests: [{ annotations: { 'io.containerd.image.name': 'postgres:16', 'keep.me': 'x' } }],
    }),
  );
  pack.finalize();
  await read;
  return Buffer.concat(chunks);
}

async function entriesOf(stream: Readable): Promise<Map<string, Buffer>> {
  const extract = tar.extract();
  stream.once('error', (error) => extract.destroy(error));
  stream.pipe(extract);
  const entries = new Map<string, Buffer>();
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.set(entry.header.name, Buffer.concat(chunks));
  }
  return entries;
}

describe('image tarball', () => {
  it('keeps layers and config, drops RepoTags, repositories and OCI name annotations', async () => {
    const entries = await entriesOf(withoutImageNames(Readable.from([await savedTarball()])));
    expect([...entries.keys()]).toEqual(['abc/layer.tar', 'cfg.json', 'manifest.json', 'index.json']);
    expect(entries.get('abc/layer.tar')).toEqual(LAYER);
    expect(JSON.parse(entries.get('manifest.json')!.toString())).toEqual([
      { Config: 'cfg.json', RepoTags: [], Layers: ['abc/layer.tar'] },
    ]);
    expect(JSON.parse(entries.get('index.json')!.toString())).toEqual({
      manifests: [{ annotations: { 'keep.me': 'x' } }],
    });
  });

  it.each(['zstd', 'lz4'] as const)('decodes %s as it streams', async (how) => {
    const tarball = await savedTarball();
    const packed = await compress(tarball, how);
    // In small pieces, as a download arrives.
    const pieces = Array.from({ length: Math.ceil(packed.length / 512) }, (_, i) =>
      packed.subarray(i * 512, (i + 1) * 512),
    );
    const entries = await entriesOf(withoutImageNames(decompressed(Readable.from(pieces), how)));
    expect(entries.get('abc/layer.tar')).toEqual(LAYER);
  });

  it('a stream that is not what its suffix says fails with the decoder’s reason', async () => {
    const out = decompressed(Readable.from([Buffer.from('this is not zstd at all')]), 'zstd');
    const failure = await new Promise<unknown>((resolve) => {
      out.on('error', resolve);
      out.resume();
    });
    expect(failure).toBeInstanceOf(ArtifactDecodeError);
    expect((failure as Error).message).toMatch(/^not a valid zstd stream \(zstd exited 1/);
  });

  it('a manifest that is not JSON is refused', async () => {
    const pack = tar.pack();
    pack.entry({ name: 'manifest.json' }, 'not json');
    pack.finalize();
    const failure = await entriesOf(withoutImageNames(Readable.from(pack))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((failure as Error).message).toContain('not a docker save tarball');
  });
});
