import { describe, expect, it } from '@jest/globals';
import { compile } from '../../src/desired-state/compile.js';
import { containerHashInput, specHash } from '../../src/desired-state/hash.js';
import { bindImages, imageKey, imagesOf, resolveImage, roleScope } from '../../src/desired-state/images.js';
import { Label } from '../../src/desired-state/labels.js';
import { IMAGE_KEY_PLACEHOLDER, type ResolvedImage } from '../../src/desired-state/types.js';
import { testConfig, testContext } from './support.js';

const hex = (c: string): string => c.repeat(64);

describe('image keys', () => {
  it('prefer the (smallest) repo digest, else the local id', () => {
    expect(imageKey({ id: `sha256:${hex('1')}`, repoDigests: [] })).toBe(`sha256:${hex('1')}`);
    expect(
      imageKey({
        id: `sha256:${hex('1')}`,
        repoDigests: [`b.example/x@sha256:${hex('c')}`, `a.example/x@sha256:${hex('b')}`, 'x@md5:zz'],
      }),
    ).toBe(`sha256:${hex('b')}`);
  });

  it('resolve with labels copied', () => {
    const labels = { a: 'b' };
    const resolved = resolveImage('x:1', { id: `sha256:${hex('1')}`, repoDigests: [], labels });
    expect(resolved).toEqual({ ref: 'x:1', id: `sha256:${hex('1')}`, key: `sha256:${hex('1')}`, labels });
    expect(resolved.labels).not.toBe(labels);
    expect(resolveImage('x', { id: 'sha256:1', repoDigests: [], labels: null }).labels).toEqual({});
  });

  it('name the role scope, valid or refused', () => {
    expect(roleScope(testConfig(), `sha256:${hex('a')}`)).toBe(
      `assume:docker-service-image:proj-ci/linux/sha256:${hex('a')}`,
    );
    expect(() => roleScope(testConfig(), 'sha256:a\nb')).toThrow('not a valid scope');
  });
});

describe('imagesOf', () => {
  it("lists the graph's images, its containers' and what its proxies serve, each once and sorted", () => {
    const desired = compile(
      {
        services: [
          { name: 'db', image: 'postgres:16' },
          { name: 'cache', image: 'redis:7' },
        ],
      },
      testContext(),
    );
    expect(imagesOf(desired)).toEqual(['ds-fixtures/proxy:latest', 'postgres:16', 'redis:7']);
    // A graph made by hand may list fewer: what its containers need is still there.
    expect(imagesOf({ ...desired, images: ['zz:1'] })).toEqual([
      'ds-fixtures/proxy:latest',
      'postgres:16',
      'redis:7',
      'zz:1',
    ]);
    const proxies = desired.containers.filter((c) => c.role === 'proxy');
    expect(imagesOf({ ...desired, images: [], containers: proxies })).toEqual([
      'ds-fixtures/proxy:latest',
      'postgres:16',
      'redis:7',
    ]);
  });
});

describe('bindImages', () => {
  const desired = compile({ services: [{ name: 'db', image: 'postgres:16' }] }, testContext());
  const proxy = desired.containers.find((c) => c.role === 'proxy')!;
  const service = desired.containers.find((c) => c.role === 'service')!;
  const postgres = resolveImage('postgres:16', {
    id: `sha256:${hex('2')}`,
    repoDigests: [`postgres@sha256:${hex('d')}`],
  });
  const proxyImage = resolveImage('ds-fixtures/proxy:latest', { id: `sha256:${hex('4')}`, repoDigests: [] });
  const known =
    (...images: ResolvedImage[]) =>
    (ref: string) =>
      images.find((i) => i.ref === ref);

  it('waits for every image it needs', () => {
    expect(bindImages(proxy, known(proxyImage))).toBeUndefined();
    expect(bindImages(proxy, known(postgres))).toBeUndefined();
    expect(bindImages(service, known(proxyImage))).toBeUndefined();
  });

  it("puts the served image's key in the proxy's scope and rehashes", () => {
    const bound = bindImages(proxy, known(proxyImage, postgres))!;
    expect(bound.cmd).toEqual([
      '--ip-address=127.0.0.1',
      '--port=61080',
      '--root-url=https://tc.example.com',
      roleScope(testConfig(), `sha256:${hex('d')}`),
    ]);
    expect(bound.specHash).not.toBe(proxy.specHash);
    expect(bound.labels[Label.specHash]).toBe(bound.specHash);
    expect(bound.specHash).toBe(
      specHash(containerHashInput(bound, { imageId: proxyImage.id, servedImageKey: `sha256:${hex('d')}` })),
    );
    expect({ ...bound, cmd: proxy.cmd, specHash: proxy.specHash, labels: proxy.labels }).toEqual(proxy);
  });

  it('refuses a served key that is not one printable token (it goes into a scope): a line break', () => {
    expect(() => bindImages(proxy, known(proxyImage, { ...postgres, key: 'sha256:a\nb' }))).toThrow(
      'not a valid image key: "sha256:a\\nb"',
    );
  });

  it("never rewrites a service's own command, even where it spells the placeholder", () => {
    const own = { ...service, cmd: ['echo', IMAGE_KEY_PLACEHOLDER] };
    expect(bindImages(own, known(postgres), hex('1'))!.cmd).toEqual(['echo', IMAGE_KEY_PLACEHOLDER]);
  });

  it('is idempotent, and pure', () => {
    const copy = structuredClone(proxy);
    const once = bindImages(proxy, known(proxyImage, postgres))!;
    expect(bindImages(once, known(proxyImage, postgres))).toEqual(once);
    expect(proxy).toEqual(copy);
  });

  it('hashes a service over its image id', () => {
    const a = bindImages(service, known(postgres), hex('1'))!;
    const b = bindImages(service, known({ ...postgres, id: `sha256:${hex('9')}` }), hex('1'))!;
    expect(a.specHash).not.toBe(b.specHash);
    expect(a.cmd).toBe(service.cmd);
  });

  it("binds a service to its proxy's container id: none yet is no binding, another is another spec", () => {
    expect(bindImages(service, known(postgres))).toBeUndefined();
    const a = bindImages(service, known(postgres), hex('1'))!;
    const b = bindImages(service, known(postgres), hex('2'))!;
    expect(a.namespaceContainerId).toBe(hex('1'));
    expect(a.specHash).not.toBe(b.specHash);
    expect(a.labels[Label.specHash]).toBe(a.specHash);
    // Binding again with the same id changes nothing.
    expect(bindImages(a, known(postgres), hex('1'))).toEqual(a);
  });
});
