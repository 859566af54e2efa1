/** The files `run` hands a worker: what each holds, and that they appear whole or not at all. */
import { describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  logFiles,
  readyFile,
  runningFailureFile,
  startupFailureFile,
  writeFileAtomically,
} from '../../src/cli/run-files.js';
import { ServiceStartError } from '../../src/library/errors.js';

const OWNER = { taskId: 'fN1SbArXTPSVFNUvaOlinQ', runId: 1 };
const SERVICE = {
  name: 'db',
  alias: 'db',
  containerId: 'c'.repeat(64),
  imageId: `sha256:${'a'.repeat(64)}`,
  proxy: {
    containerId: 'p'.repeat(64),
    roleScope: `assume:docker-service-image:p/w/sha256:${'a'.repeat(64)}`,
  },
};

describe('readyFile', () => {
  it('names the task network, as create options and as docker run flags', () => {
    const options = {
      HostConfig: { NetworkMode: 'gw-task-fN1SbArXTPSV-1' },
      NetworkingConfig: { EndpointsConfig: { 'gw-task-fN1SbArXTPSV-1': {} } },
    };
    expect(readyFile(OWNER, [SERVICE], options)).toEqual({
      version: 1,
      ...OWNER,
      taskNetwork: 'gw-task-fN1SbArXTPSV-1',
      services: [SERVICE],
      taskContainerOptions: options,
      dockerRunArgs: ['--network', 'gw-task-fN1SbArXTPSV-1'],
    });
  });

  it('without services: no network, no flags, the task container keeps its own', () => {
    expect(readyFile(OWNER, [], {})).toMatchObject({ taskNetwork: null, dockerRunArgs: [], services: [] });
  });
});

describe('failure files', () => {
  it('a startup failure carries the error as the library made it', () => {
    const error = new ServiceStartError({
      service: 'db',
      role: 'service',
      phase: 'running',
      reason: { kind: 'exited', exitCode: 3 },
      logTail: 'giving up',
      ...OWNER,
    });
    expect(startupFailureFile(error)).toEqual({
      version: 1,
      ...OWNER,
      stage: 'startup',
      service: 'db',
      role: 'service',
      phase: 'running',
      reason: { kind: 'exited', exitCode: 3 },
      logTail: 'giving up',
      message: error.message,
    });
  });

  it("a failure while running takes the failing container's log tail", () => {
    const log = Array.from({ length: 80 }, (_, i) => `line ${i}`).join('\n');
    const file = runningFailureFile(
      OWNER,
      { service: 'db', role: 'proxy', reason: 'its proxy exited with code 1' },
      { logs: { db: 'the service' }, proxyLogs: { db: log } },
    );
    expect(file).toMatchObject({
      stage: 'running',
      service: 'db',
      role: 'proxy',
      reason: { kind: 'failed-while-running', message: 'its proxy exited with code 1' },
      message: 'the auth proxy of service db failed while the task ran: its proxy exited with code 1',
    });
    expect(file.logTail.split('\n')).toHaveLength(50);
    expect(file.logTail.endsWith('line 79')).toBe(true);
  });
});

describe('logFiles', () => {
  it("one file per service and one per proxy; `_` cannot clash with a service's name", () => {
    expect(logFiles({ logs: { db: 'a', web: 'b' }, proxyLogs: { db: 'c', web: 'd' } })).toEqual({
      'db.log': 'a',
      'web.log': 'b',
      'db_proxy.log': 'c',
      'web_proxy.log': 'd',
    });
  });
});

describe('writeFileAtomically', () => {
  it('makes the directory, replaces the file whole and leaves no temporary file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ds-run-files-'));
    try {
      const path = join(dir, 'sub', 'ready.json');
      await writeFileAtomically(path, 'first');
      await writeFileAtomically(path, 'second');
      expect(await readFile(path, 'utf8')).toBe('second');
      expect(await readdir(join(dir, 'sub'))).toEqual(['ready.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
