import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Label } from '../../src/desired-state/labels.js';
import { classify, nameFilterPattern, ownerLabels } from '../../src/observed-state/ownership.js';
import type { ObserveScope } from '../../src/observed-state/scope.js';

const task = 'fNq3Bd-xTuq_Ak1Z9a0w1g';
const run: ObserveScope = { ownerId: 'worker-1', taskId: task, runId: 0, images: [] };
const gc: ObserveScope = { ownerId: 'worker-1', images: [] };
const labels = (
  owner: string | undefined,
  taskId: string | undefined = task,
  runId: string | undefined = '0',
) => {
  const out: Record<string, string> = {};
  if (owner !== undefined) out[Label.owner] = owner;
  if (taskId !== undefined) out[Label.taskId] = taskId;
  if (runId !== undefined) out[Label.runId] = runId;
  return out;
};

describe('classify', () => {
  it.each<[string, ObserveScope, string, Record<string, string> | null, string]>([
    ['task network', run, `ds-${task}-0`, labels('worker-1'), 'ours'],
    ['service container', run, `ds-${task}-0_db`, labels('worker-1'), 'ours'],
    ['proxy container', run, `ds-${task}-0_db_proxy`, labels('worker-1'), 'ours'],
    [
      'garbage collection sees every task of the owner',
      gc,
      `ds-${task}-3_db`,
      labels('worker-1', task, '3'),
      'ours',
    ],
    ['our labels, name without ds-', run, `${task}-0_db`, labels('worker-1'), 'foreign'],
    ['our labels, name of another run', run, `ds-${task}-1_db`, labels('worker-1'), 'foreign'],
    ['our labels, name with a prefix match only', run, `ds-${task}-01_db`, labels('worker-1'), 'foreign'],
    ['our labels, name with "-" after the stem', run, `ds-${task}-0-db`, labels('worker-1'), 'foreign'],
    ['gc: our owner label, no task labels', gc, `ds-${task}-0_db`, { [Label.owner]: 'worker-1' }, 'foreign'],
    ['gc: our owner label, name of another task', gc, `ds-other-0_db`, labels('worker-1'), 'foreign'],
    ['our name, no labels', run, `ds-${task}-0_db`, null, 'foreign'],
    ['our name, another owner', run, `ds-${task}-0_db`, labels('worker-2'), 'foreign'],
    [
      'our name, our owner, labels of another run',
      run,
      `ds-${task}-0_db`,
      labels('worker-1', task, '1'),
      'foreign',
    ],
    ['another task of ours', run, `ds-other-0_db`, labels('worker-1', 'other'), 'unrelated'],
    ['another run of ours', run, `ds-${task}-1_db`, labels('worker-1', task, '1'), 'unrelated'],
    ['gc: another owner', gc, `ds-${task}-0_db`, labels('worker-2'), 'unrelated'],
    ['gc: ds- name without labels', gc, `ds-${task}-0_db`, null, 'unrelated'],
    ['a stranger', run, 'postgres', null, 'unrelated'],
    ['a longer task id sharing our prefix', run, `ds-${task}x-0_db`, null, 'unrelated'],
  ])('%s', (_, scope, name, objectLabels, kind) => {
    const result = classify(scope, name, objectLabels);
    expect(result.kind).toBe(kind);
    if (result.kind === 'foreign') expect(result.reason).not.toBe('');
  });

  it('a scope with a task and no run takes every run of that task', () => {
    const anyRun: ObserveScope = { ownerId: 'worker-1', taskId: task, images: [] };
    expect(classify(anyRun, `ds-${task}-2_db`, labels('worker-1', task, '2')).kind).toBe('ours');
    expect(classify(anyRun, `ds-${task}-2_db`, null).kind).toBe('foreign');
    expect(classify(anyRun, `ds-${task}-x_db`, null).kind).toBe('unrelated');
  });

  it('never calls ours what lacks our owner label or our naming; never ignores a squatter on our run names', () => {
    const part = fc.constantFrom(task, 'other', '0', '1', 'db', '');
    const name = fc
      .tuple(
        fc.constantFrom('ds-', '', 'x'),
        part,
        fc.constantFrom('-', '_', ''),
        part,
        fc.constantFrom('', '_db', '-db'),
      )
      .map((p) => p.join(''));
    const maybe = (a: fc.Arbitrary<string>) => fc.option(a, { nil: undefined });
    const objectLabels = fc
      .tuple(
        maybe(fc.constantFrom('worker-1', 'worker-2')),
        maybe(fc.constantFrom(task, 'other')),
        maybe(fc.constantFrom('0', '1')),
      )
      .map(([o, t, r]) => {
        const out: Record<string, string> = {};
        if (o !== undefined) out[Label.owner] = o;
        if (t !== undefined) out[Label.taskId] = t;
        if (r !== undefined) out[Label.runId] = r;
        return out;
      });
    const scope = fc.constantFrom(run, gc, { ...run, runId: undefined });
    fc.assert(
      fc.property(scope, name, objectLabels, (s, n, l) => {
        const result = classify(s, n, l);
        const t = l[Label.taskId];
        const r = l[Label.runId];
        if (result.kind === 'ours') {
          expect(l[Label.owner]).toBe(s.ownerId);
          expect(t !== undefined && r !== undefined).toBe(true);
          expect(n === `ds-${t}-${r}` || n.startsWith(`ds-${t}-${r}_`)).toBe(true);
          if (s.taskId !== undefined) expect(t).toBe(s.taskId);
          if (s.runId !== undefined) expect(r).toBe(String(s.runId));
        }
        const squatsOnRun = s.runId !== undefined && (n === `ds-${task}-0` || n.startsWith(`ds-${task}-0_`));
        if (squatsOnRun) expect(result.kind).not.toBe('unrelated');
      }),
    );
  });
});

describe('nameFilterPattern', () => {
  it('anchors the run stem, with the leading slash Docker puts on container names', () => {
    expect(nameFilterPattern(run, 'container')).toBe(`^/ds-${task}-0`);
    expect(nameFilterPattern(run, 'network')).toBe(`^ds-${task}-0`);
    expect(nameFilterPattern(gc, 'network')).toBe('^ds-');
    expect(nameFilterPattern({ ...run, taskId: 'a.b' }, 'network')).toBe('^ds-a\\.b-0');
  });
});

describe('ownerLabels', () => {
  it('reads owner, task and run, and the node, role, service and spec hash when present', () => {
    expect(
      ownerLabels({
        ...labels('worker-1', task, '3'),
        [Label.node]: 'container/service/db',
        [Label.role]: 'service',
        [Label.service]: 'db',
        [Label.specHash]: 'abc123',
        'com.example.other': 'x',
      }),
    ).toEqual({
      ownerId: 'worker-1',
      taskId: task,
      runId: 3,
      node: 'container/service/db',
      role: 'service',
      service: 'db',
      specHash: 'abc123',
    });
    expect(ownerLabels(labels('worker-1'))).toEqual({ ownerId: 'worker-1', taskId: task, runId: 0 });
  });

  it('is undefined without an owner, a task or a run written as a whole number', () => {
    expect(ownerLabels(undefined)).toBeUndefined();
    expect(ownerLabels(null)).toBeUndefined();
    expect(ownerLabels(labels(undefined))).toBeUndefined();
    expect(ownerLabels({ [Label.owner]: 'worker-1', [Label.runId]: '0' })).toBeUndefined();
    expect(ownerLabels({ [Label.owner]: 'worker-1', [Label.taskId]: task })).toBeUndefined();
    for (const runId of ['', '-1', '1.5', '01', ' 1', '1e3', 'one'])
      expect(ownerLabels(labels('worker-1', task, runId))).toBeUndefined();
  });
});
