/**
 * The layers import one way: util ← desired-state ← docker ← host ← proxy ← credentials ←
 * observed-state ← reconciler ← actions ← loop ← library ← cli, and the reconciler's decision
 * code touches no I/O. The dry run (`plan`) must be `plan()` plus printing: nothing it loads,
 * however indirectly, may execute an action.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve('src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Module specifiers a file imports or re-exports (type-only ones too: they shape the layering). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/g)].map(
    (m) => m[1]!,
  );
  const bare = [...text.matchAll(/(?:^|\n)\s*import\s+'([^']+)'/g)].map((m) => m[1]!);
  return [...specifiers, ...bare];
}

/** A relative import resolved to the `.ts` file under src/, or the package name. */
function resolveImport(from: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return relative(SRC, resolve(dirname(from), specifier.replace(/\.js$/, '.ts')));
}

const files = sourceFiles(SRC).map((f) => relative(SRC, f));
const graph = new Map(
  files.map((f) => [f, importsOf(join(SRC, f)).map((s) => resolveImport(join(SRC, f), s))]),
);

/** Every module `file` loads, however indirectly (packages by name, not followed). */
function closure(file: string): Set<string> {
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const target of graph.get(f) ?? []) visit(target);
  };
  visit(file);
  return seen;
}

const LAYERS = [
  'util',
  'desired-state',
  'docker',
  'host',
  'proxy',
  'credentials',
  'observed-state',
  'reconciler',
  'actions',
  'loop',
  'library',
  'cli',
];
const layerOf = (file: string) => file.split('/')[0]!;

describe('layering', () => {
  it('finds the source files and their imports', () => {
    expect(graph.get('loop/reconcile.ts')).toEqual(
      expect.arrayContaining(['actions/executor.ts', 'reconciler/plan.ts']),
    );
  });

  it('each layer imports only from the layers below it', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      const rank = LAYERS.indexOf(layerOf(file));
      if (rank < 0) continue;
      for (const target of imports) {
        if (!graph.has(target)) continue;
        const targetRank = LAYERS.indexOf(layerOf(target));
        if (targetRank > rank || (targetRank < 0 && layerOf(target) !== layerOf(file)))
          upward.push(`${file} -> ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('the reconciler decides without I/O: nothing it loads, however indirectly, talks to Docker, logs or streams (hashing is computation)', () => {
    const io: string[] = [];
    for (const file of graph.keys()) {
      if (layerOf(file) !== 'reconciler') continue;
      for (const loaded of closure(file)) {
        if (loaded.startsWith('docker/') || /^(rxjs|winston|dockerode|node:(?!crypto$))/.test(loaded))
          io.push(`${file} -> ${loaded}`);
      }
    }
    expect(io).toEqual([]);
  });

  it('the dry run loads no executor and no loop, however indirectly', () => {
    const seen = closure('cli/commands/plan.ts');
    expect(seen.size).toBeGreaterThan(5);
    expect([...seen].filter((f) => f.startsWith('actions/') || f.startsWith('loop/'))).toEqual([]);
  });

  it('schema loads nothing that talks to Docker: it is the desired state printed', () => {
    const seen = [...closure('cli/commands/schema.ts')];
    expect(seen).toContain('desired-state/schema.ts');
    const allowed = (f: string) => /^(cli|desired-state|util)\//.test(f) || !graph.has(f);
    expect(seen.filter((f) => !allowed(f) || f === 'dockerode')).toEqual([]);
  });
});
