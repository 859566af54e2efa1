/**
 * The package as npm publishes it: `npm pack` of this checkout, unpacked into a temporary
 * node_modules (its dependencies linked from this checkout's), and used from outside by plain Node:
 *   - consumer/start-stop.cjs: `require('docker-services')`, a ServiceManager on the engine starts
 *     one service and stops it, nothing left;
 *   - consumer/import-and-require.mjs: `import` works, and gives the same objects as `require()`
 *     in one process (no second copy of any class);
 *   - consumer/typed.cts and typed.mts: TypeScript finds the types through either condition.
 *
 * Needs `npm run build` (scripts/prepare.sh does it).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Label } from '../../src/desired-state/labels.js';
import { removeMadeByThisRun, testDocker, testOwnerId } from '../support/docker.js';
import { requireFreshBuild, runFile, type Result } from './support.js';

const ROOT = resolve('.');
const CONSUMERS = resolve('test/package/consumer');
const ownerId = testOwnerId('cjs');

let work: string;

/** Runs `file` in `cwd` (the temporary install) with PATH and `env`. */
function run(file: string, args: string[], env: Record<string, string> = {}, cwd = work): Promise<Result> {
  return runFile(file, args, { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
}

beforeAll(async () => {
  requireFreshBuild(['dist/index.cjs', 'dist/index.mjs', 'dist/index.d.cts'], 'npm run build');
  work = mkdtempSync(join(tmpdir(), 'ds-package-'));
  const packed = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
    {},
    ROOT,
  );
  expect(packed).toMatchObject({ code: 0 });
  const [{ filename, files }] = JSON.parse(packed.out) as [{ filename: string; files: { path: string }[] }];
  const paths = files.map((file) => file.path);
  expect(paths).toEqual(expect.arrayContaining(['dist/index.cjs', 'dist/index.mjs', 'dist/index.d.cts']));
  // The single executable is a download of its own, not part of the npm package.
  expect(paths.filter((path) => path.startsWith('dist/bin/'))).toEqual([]);
  const modules = join(work, 'node_modules');
  const installed = join(modules, 'docker-services');
  mkdirSync(installed, { recursive: true });
  expect(
    await run('tar', ['-xzf', join(work, filename), '--strip-components=1', '-C', installed]),
  ).toMatchObject({ code: 0 });
  // Its dependencies (and dockerode, typescript and @types for the consumers) as npm installed them here.
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name.startsWith('.') || name === 'docker-services') continue;
    symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
  for (const file of readdirSync(CONSUMERS)) copyFileSync(join(CONSUMERS, file), join(work, file));
}, 120_000);

afterAll(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
  await removeMadeByThisRun(testDocker(), (labels) => labels[Label.owner] === ownerId);
});

describe('the published package', () => {
  it('require() from a .cjs file: a ServiceManager starts a service on the engine and stops it', async () => {
    const taskId = randomBytes(16).toString('base64url');
    const result = await run(process.execPath, ['start-stop.cjs'], {
      DS_OWNER_ID: ownerId,
      DS_TASK_ID: taskId,
    });
    expect(result).toMatchObject({ code: 0, err: '' });
    const seen = JSON.parse(result.out) as {
      refused: string;
      networkMode: string;
      events: string[];
      objectsWhileRunning: number;
      objectsAfterStop: number;
      logs: string[];
    };
    expect(seen).toMatchObject({
      refused: 'PayloadValidationError',
      networkMode: `ds-${taskId}-0`,
      // The service, its proxy (which holds the service's network namespace) and the task network.
      objectsWhileRunning: 3,
      objectsAfterStop: 0,
      logs: ['web'],
    });
    expect(seen.events).toEqual(expect.arrayContaining(['web/service: started', 'web/service: removed']));
  }, 240_000);

  it('import from a .mjs file gives what require() gives, the same objects, and the whole surface', async () => {
    const result = await run(process.execPath, ['import-and-require.mjs']);
    expect(result).toMatchObject({ code: 0, err: '' });
    const seen = JSON.parse(result.out) as Record<string, unknown>;
    const surface = Object.keys(await import('../../src/index.js')).sort();
    expect(seen).toEqual({
      imported: surface,
      required: surface,
      different: [],
      refusedIsImportedClass: true,
      refusedIsRequiredClass: true,
      labelsAgree: true,
    });
  });

  it('TypeScript finds the types from a .cts and from a .mts file', async () => {
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'node16',
          moduleResolution: 'node16',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
        },
        files: ['typed.cts', 'typed.mts'],
      }),
    );
    const checked = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.']);
    expect(checked.out + checked.err).toBe('');
    expect(checked.code).toBe(0);
  }, 180_000);
});
