#!/usr/bin/env node
/**
 * The two bundles the TypeScript build cannot make (README: "From CommonJS", "A standalone
 * executable"):
 *
 *   node scripts/bundle.mjs library      part of `npm run build`, after tsc: dist/index.cjs and
 *                                        dist/types.cjs, what `require('docker-services')` loads,
 *                                        their `.d.cts` declarations and the ESM entry over them
 *   node scripts/bundle.mjs executable   `npm run package`: dist/bin/docker-services, the CLI as a
 *                                        Node single executable, which runs where no `node` is
 */
/* global process, console */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * taskcluster-client 87 (and got, which it uses) are ES modules only, and Node 20's `require()`
 * cannot load an ES module: those are bundled into the CommonJS build. Every other dependency is
 * CommonJS-loadable and stays a `require()` of the installed package, so that an embedder gets
 * the versions npm resolved (and one copy of rxjs, dockerode, winston).
 */
const ESM_ONLY_DEPENDENCIES = ['taskcluster-client'];

/** Options both bundles share: Node 20, CommonJS, from the TypeScript sources. */
const COMMON = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: false,
  logLevel: 'warning',
  // Error and class names appear in messages and logs: keep them through bundling.
  keepNames: true,
};

async function library() {
  const external = Object.keys(pkg.dependencies).filter((name) => !ESM_ONLY_DEPENDENCIES.includes(name));
  await build({
    ...COMMON,
    entryPoints: { index: join(root, 'src/index.ts'), types: join(root, 'src/types.ts') },
    outdir: dist,
    outExtension: { '.js': '.cjs' },
    external,
  });
  // One implementation for both module systems: the ESM entry re-exports the CommonJS build
  // rather than being a second copy of the library. Two copies in one process (an embedder that
  // imports in one file and requires in another) would mean two ServiceManager and two
  // ServiceStartError classes, and `instanceof` failing across them (the dual-package hazard).
  // Node finds the names through the `0 && (module.exports = {…})` note that esbuild writes.
  writeFileSync(join(dist, 'index.mjs'), "export * from './index.cjs';\n");
  writeCommonJsDeclarations();
}

/**
 * Declarations for `require`: TypeScript reads every `.d.ts` of this `"type": "module"` package
 * as an ES module, which a CommonJS file may not import (TS1479). Each gets a `.d.cts` twin whose
 * relative imports name the twins (`./library/manager.cjs` → `manager.d.cts`).
 */
function writeCommonJsDeclarations() {
  const relativeJs = /((?:from|import\()\s*)(['"])(\.{1,2}\/[^'"]*)\.js\2/g;
  for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    const text = readFileSync(file, 'utf8').replace(relativeJs, '$1$2$3.cjs$2');
    writeFileSync(file.replace(/\.d\.ts$/, '.d.cts'), text);
  }
}

/**
 * Node's single executable application (Node 20: a preparation blob injected with postject into a
 * copy of the running `node` binary). It runs one CommonJS script whose `require` knows only
 * Node's built-in modules, so everything, every dependency included, is in the bundle; the CLI's
 * on-demand `import()` of each command is bundled in too. The auth proxy is not in it: it runs as
 * its image (`--proxy-image`), built by fixtures/images/build.sh.
 */
async function executable() {
  const work = join(dist, 'sea');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const script = join(work, 'cli.cjs');
  await build({
    ...COMMON,
    entryPoints: [join(root, 'src/cli/main.ts')],
    outfile: script,
    plugins: [noNativeAddons],
  });
  const config = join(work, 'sea-config.json');
  const blob = join(work, 'sea-prep.blob');
  writeFileSync(
    config,
    JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'inherit' });

  const binary = join(dist, 'bin', 'docker-services');
  mkdirSync(dirname(binary), { recursive: true });
  rmSync(binary, { force: true });
  copyFileSync(process.execPath, binary);
  chmodSync(binary, 0o755);
  try {
    execFileSync(
      join(root, 'node_modules', '.bin', 'postject'),
      // The fuse is Node's documented sentinel: finding it flipped tells node to run the blob.
      [binary, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'],
      // postject warns about every ELF note section it does not name: its output is shown only
      // when it fails.
      { stdio: 'pipe', encoding: 'utf8' },
    );
  } catch (error) {
    rmSync(binary, { force: true });
    throw new Error(`postject could not inject the blob into ${binary}:\n${error.stdout}${error.stderr}`, {
      cause: error,
    });
  }
  rmSync(work, { recursive: true, force: true });
  const mib = (statSync(binary).size / 1024 ** 2).toFixed(1);
  console.log(`${binary}: ${mib} MiB, node ${process.version} ${process.platform}-${process.arch}`);
}

/**
 * ssh2 (dockerode's transport for `ssh://` DOCKER_HOSTs) tries two optional native addons inside
 * try/catch and falls back to JavaScript. A `.node` file cannot live inside the executable, and a
 * `require()` of a file would make Node warn on every start: the addons become modules that throw,
 * which takes the fallback silently. So does `cpu-features`, an optional dependency that npm skips
 * when its native build fails (seen once in CI): esbuild would then leave a bare
 * `require("cpu-features")`, and the warning with it, whether or not the package installed.
 */
const OPTIONAL_NATIVE_PACKAGES = /^cpu-features$/;
const noNativeAddons = {
  name: 'no-native-addons',
  setup(builder) {
    builder.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, namespace: 'no-native-addon' }));
    builder.onResolve({ filter: OPTIONAL_NATIVE_PACKAGES }, (args) => ({
      path: args.path,
      namespace: 'no-native-addon',
    }));
    builder.onLoad({ filter: /.*/, namespace: 'no-native-addon' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`native addon ${args.path} is not in the single executable`)});`,
      loader: 'js',
    }));
  },
};

const targets = { library, executable };
const target = process.argv[2];
if (!(target in targets)) {
  console.error(`usage: node scripts/bundle.mjs ${Object.keys(targets).join('|')}`);
  process.exit(1);
}
await targets[target]();
