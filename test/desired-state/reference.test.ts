import { describe, expect, it } from '@jest/globals';
import { imageReferenceProblems } from '../../src/desired-state/reference.js';

const hex = 'a'.repeat(64);

describe('image references (distribution reference grammar)', () => {
  it.each([
    'redis',
    'redis:7',
    'library/redis:7.2-alpine',
    'ds-fixtures/redis:latest',
    'registry.example.com/team/app',
    'registry.example.com:5000/team/app:v1.2_3',
    'localhost:5000/app',
    '[::1]:5000/app',
    `postgres@sha256:${hex}`,
    `ghcr.io/org/img:tag@sha256:${hex}`,
    'a__b/c.d-e',
    'a---b',
  ])('accepts %s', (ref) => {
    expect(imageReferenceProblems(ref)).toEqual([]);
  });

  it.each([
    ['', 'must not be empty'],
    ['-v /:/host alpine', "must not start with '-'; must not contain whitespace"],
    ['alpine --privileged', 'must not contain whitespace'],
    ['alpine\n', 'must not contain whitespace'],
    ['Redis', 'repository name must be lowercase'],
    ['docker.io/Library/redis', 'repository name must be lowercase'],
    ['redis:', "does not follow Docker's reference grammar [registry/]name[:tag][@sha256:digest]"],
    ['redis:-x', "does not follow Docker's reference grammar [registry/]name[:tag][@sha256:digest]"],
    ['redis@sha256:abc', "does not follow Docker's reference grammar [registry/]name[:tag][@sha256:digest]"],
    ['a/../b', "does not follow Docker's reference grammar [registry/]name[:tag][@sha256:digest]"],
    ['a_', "does not follow Docker's reference grammar [registry/]name[:tag][@sha256:digest]"],
    [
      `redis:${'t'.repeat(129)}`,
      "does not follow Docker's reference grammar [registry/]name[:tag][@sha256:digest]",
    ],
    ['a'.repeat(256), 'is 256 characters; at most 255'],
    // Capitals in a tag or a registry are allowed: they do not make the message about the name.
    [
      'my_registry:5000/app:TAG',
      "does not follow Docker's reference grammar [registry/]name[:tag][@sha256:digest]",
    ],
    [
      'Registry.Example.com/app!x',
      "does not follow Docker's reference grammar [registry/]name[:tag][@sha256:digest]",
    ],
  ])('refuses %j: %s', (ref, problems) => {
    expect(imageReferenceProblems(ref).join('; ')).toBe(problems);
  });
});
