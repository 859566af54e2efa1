/**
 * `up`'s progress as a user sees it, on the real engine with a real pull: on a terminal (a real
 * pty, made by util-linux `script`) one line per service redrawn in place with the pull's byte
 * meter; through a pipe plain timestamped lines, without cursor movement or the meter. The image
 * comes from a real registry with a login from `--config`, whose password the output never shows.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Label } from '../../src/desired-state/labels.js';
import { dockerCli, IMAGES, removeMadeByThisRun, testDocker, testOwnerId } from '../support/docker.js';
import { startRegistry, withBlob, type TestRegistry } from '../support/registry.js';
import { slugid } from '../support/slugid.js';

const exec = promisify(execFile);
const docker = testDocker();
const ownerId = testOwnerId('cli-pty');
const env = {
  PATH: process.env.PATH,
  TASKCLUSTER_CLIENT_ID: 'test/docker-services-pty',
  TASKCLUSTER_ACCESS_TOKEN: randomBytes(33).toString('base64url'),
};
const ESC = '\u001b';
/** Whether `text` moves the cursor up, as the terminal display does to redraw its lines. */
const movesCursorUp = (text: string) =>
  text
    .split(`${ESC}[`)
    .slice(1)
    .some((sequence) => /^\d+A/.test(sequence));

let registry: TestRegistry;
let dir: string;
const made: string[] = [];

beforeAll(async () => {
  registry = await startRegistry();
  dir = await mkdtemp(join(tmpdir(), 'ds-pty-'));
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      ownerId,
      provisionerId: 'test-prov',
      workerType: 'test-wt',
      rootUrl: 'http://taskcluster.invalid',
      proxy: { image: 'docker-services/proxy:latest' },
      images: { pullPolicy: 'always' },
      registries: { [registry.host]: { username: registry.username, password: registry.password } },
    }),
  );
}, 60_000);

afterAll(async () => {
  await removeMadeByThisRun(docker, (labels) => labels[Label.owner] === ownerId);
  for (const ref of made) await dockerCli('rmi', '-f', ref).catch(() => '');
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

/** A fresh image only the registry has: a layer big enough for the engine to report its bytes. */
async function registryOnlyImage(name: string): Promise<string> {
  const local = await withBlob(IMAGES.busybox, 16_000_000, `ds-test-local/${name}:${Date.now()}`);
  const ref = await registry.push(local, `ds-test/${name}:${Date.now()}`);
  made.push(ref);
  await dockerCli('rmi', local, ref);
  return ref;
}

async function payloadFor(image: string): Promise<string> {
  const path = join(dir, `payload-${Date.now()}.json`);
  await writeFile(path, JSON.stringify({ services: [{ name: 'web', image, command: ['sleep', '600'] }] }));
  return path;
}

/** `up` then `down` of one task; resolves with what `up` wrote (stdout and stderr as the caller sees them). */
async function upAndDown(run: (argv: string[]) => Promise<string>, image: string): Promise<string> {
  const ids = ['--task-id', slugid(), '--run-id', '0'];
  const argv = [
    'dist/cli/main.js',
    'up',
    await payloadFor(image),
    ...ids,
    '--config',
    join(dir, 'config.json'),
  ];
  try {
    return await run(argv);
  } finally {
    await exec('node', ['dist/cli/main.js', 'down', ...ids, '--owner-id', ownerId], {
      env,
      timeout: 120_000,
    });
  }
}

describe('up progress on the engine', () => {
  it('on a pty: lines redrawn in place with the byte meter of the pull, ending ready', async () => {
    const image = await registryOnlyImage('pty');
    const shown = await upAndDown(async (argv) => {
      // `script` gives the command a pty for stdin, stdout and stderr, and copies what it wrote.
      const command = ['node', ...argv].map((a) => `'${a}'`).join(' ');
      const { stdout } = await exec('script', ['-qfec', command, '/dev/null'], { env, timeout: 240_000 });
      return stdout;
    }, image);
    expect(movesCursorUp(shown)).toBe(true);
    expect(shown).toMatch(/web\s+pulling \d+\.\d MB/);
    expect(shown).toMatch(/✔ web\s+ready/);
    expect(shown).toContain('"NetworkMode"');
    expect(shown).not.toContain(registry.password);
    expect(shown).not.toContain(env.TASKCLUSTER_ACCESS_TOKEN);
  }, 300_000);

  it('through a pipe: plain timestamped lines, no cursor movement and no meter', async () => {
    const image = await registryOnlyImage('pipe');
    const shown = await upAndDown(async (argv) => {
      const { stdout, stderr } = await exec('node', argv, { env, timeout: 240_000 });
      expect(stdout).toContain('"NetworkMode"');
      return stderr;
    }, image);
    expect(shown).not.toContain(ESC);
    expect(shown).toMatch(/^\d\d:\d\d:\d\d web: pulling/m);
    expect(shown).toMatch(/^\d\d:\d\d:\d\d web: ready/m);
    expect(shown).not.toMatch(/ MB/);
    expect(shown).not.toContain(registry.password);
  }, 300_000);
});
