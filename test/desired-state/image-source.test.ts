/** Where a service's image comes from: the local reference it gets, and how people read its source. */
import { describe, expect, it } from '@jest/globals';
import {
  describeSource,
  imageSource,
  registryOf,
  taskImageRef,
} from '../../src/desired-state/image-source.js';
import { TASK_ID } from './support.js';

const OTHER_TASK_ID = 'other_Task-Id012345678';
const ARTIFACT_TAG = /^docker-services\/(task-image|indexed-image):[0-9a-f]{40}$/;

describe('the local reference of an artifact image', () => {
  const taskImage = (taskId: string, path: string) =>
    imageSource({ type: 'task-image', taskId, path }, 'always');
  const indexedImage = (namespace: string, path: string) =>
    imageSource({ type: 'indexed-image', namespace, path }, 'always');

  it('is a tag of our repository that names the kind of artifact', () => {
    expect(taskImage(TASK_ID, 'public/image.tar').ref).toMatch(ARTIFACT_TAG);
    expect(taskImage(TASK_ID, 'public/image.tar').ref).toMatch(/^docker-services\/task-image:/);
    expect(indexedImage('project.ci.images', 'public/image.tar').ref).toMatch(ARTIFACT_TAG);
    expect(indexedImage('project.ci.images', 'public/image.tar').ref).toMatch(
      /^docker-services\/indexed-image:/,
    );
  });

  it('differs for another task, another artifact or another index path', () => {
    const refs = [
      taskImage(TASK_ID, 'public/image.tar').ref,
      taskImage(OTHER_TASK_ID, 'public/image.tar').ref,
      taskImage(TASK_ID, 'public/other.tar').ref,
      indexedImage('project.ci.images', 'public/image.tar').ref,
      indexedImage('project.ci.other', 'public/image.tar').ref,
      indexedImage('project.ci.images', 'public/other.tar').ref,
    ];
    expect(new Set(refs).size).toBe(refs.length);
  });

  it('of a task image is the tag the load puts on the loaded image', () => {
    expect(taskImage(TASK_ID, 'public/image.tar').ref).toBe(taskImageRef(TASK_ID, 'public/image.tar'));
    expect(taskImageRef(TASK_ID, 'public/image.tar')).not.toBe(
      taskImageRef(OTHER_TASK_ID, 'public/image.tar'),
    );
    expect(taskImageRef(TASK_ID, 'public/image.tar')).not.toBe(taskImageRef(TASK_ID, 'public/other.tar'));
  });
});

describe('describeSource', () => {
  it('says pull or load, and what', () => {
    expect(describeSource(imageSource('redis:7', 'always'))).toBe('pull redis:7');
    expect(
      describeSource(imageSource({ type: 'task-image', taskId: TASK_ID, path: 'public/i.tar' }, 'always')),
    ).toBe(`load task-image ${TASK_ID}/public/i.tar`);
    expect(
      describeSource(
        imageSource(
          { type: 'indexed-image', namespace: 'project.ci.images', path: 'public/i.tar' },
          'always',
        ),
      ),
    ).toBe('load indexed-image project.ci.images/public/i.tar');
  });
});

describe('registryOf', () => {
  it('is Docker Hub for a reference without a registry, as Docker resolves it', () => {
    expect(registryOf('redis:7')).toBe('docker.io');
    expect(registryOf('library/redis:7')).toBe('docker.io');
    expect(registryOf('ds-fixtures/proxy:latest')).toBe('docker.io');
  });

  it('is the first component when it has a dot or a port, or is localhost', () => {
    expect(registryOf('registry.example.com/app:1')).toBe('registry.example.com');
    expect(registryOf('127.0.0.1:5000/app')).toBe('127.0.0.1:5000');
    expect(registryOf('registry:5000/app')).toBe('registry:5000');
    expect(registryOf('localhost/app')).toBe('localhost');
    expect(registryOf('localhost:5000/team/app@sha256:' + 'a'.repeat(64))).toBe('localhost:5000');
  });
});
