/**
 * `formatPlan` on hand-made plans: what counts as add/change/destroy, the replace symbol, the
 * legend, the empty and waiting-only summaries, the JSON shape, and that no env value of a node
 * reaches either form.
 */
import { describe, expect, test } from '@jest/globals';
import type { Action, Plan } from '../../src/reconciler/actions.js';
import { formatPlan, summarize } from '../../src/reconciler/format.js';
import { buildDesired } from '../support/builders.js';

const SECRET = 's3cr3t-value-9f1e';
const desired = buildDesired([
  { name: 'db', image: 'ds-fixtures/postgres:latest', env: { DB_PASSWORD: SECRET } },
]);
const db = desired.containers.find((c) => c.role === 'service')!;
const taskNetwork = desired.networks.find((n) => n.role === 'task-network')!;

const base: Plan = {
  taskId: 'T',
  runId: 0,
  snapshotTime: '2024-05-01T12:00:00.000Z',
  actions: [],
  waiting: [],
  blocked: [],
  ready: false,
};

const pull: Action = {
  kind: 'pull-image',
  id: 'pull-image:img',
  target: { type: 'image', name: 'img' },
  cause: 'not present locally',
  dependsOn: [],
  image: 'img',
};
const createNet: Action = {
  kind: 'create-network',
  id: `create-network:${taskNetwork.name}`,
  target: { type: 'network', name: taskNetwork.name },
  cause: 'not found',
  dependsOn: [],
  network: taskNetwork,
};
const remove: Action = {
  kind: 'remove-container',
  id: `remove-container:${db.name}`,
  target: { type: 'container', name: db.name, objectId: 'c1' },
  cause: 'spec hash 9a0c→41d7',
  dependsOn: [],
  containerId: 'c1',
};
const create: Action = {
  kind: 'create-container',
  id: `create-container:${db.name}`,
  target: { type: 'container', name: db.name },
  cause: 'spec hash 9a0c→41d7',
  dependsOn: [remove.id, createNet.id],
  container: db,
  network: { name: taskNetwork.name, aliases: ['db'] },
};
const connect: Action = {
  kind: 'connect-network',
  id: `connect-network:${db.name}:n2`,
  target: { type: 'container', name: db.name },
  cause: 'attach before start',
  dependsOn: [create.id],
  container: db.name,
  network: 'n2',
  aliases: [],
};
const start: Action = {
  kind: 'start-container',
  id: `start-container:${db.name}`,
  target: { type: 'container', name: db.name },
  cause: 'spec hash 9a0c→41d7',
  dependsOn: [create.id, connect.id],
  container: db.name,
};
const disconnect: Action = {
  kind: 'disconnect-network',
  id: 'disconnect-network:abc:n3',
  target: { type: 'network', name: 'n3', objectId: 'n3id' },
  cause: 'stray endpoint',
  dependsOn: [],
  networkId: 'n3id',
  containerId: 'abcdef0123456789abcdef',
};
const removeNet: Action = {
  kind: 'remove-network',
  id: 'remove-network:n3',
  target: { type: 'network', name: 'n3', objectId: 'n3id' },
  cause: 'orphan: not in desired graph',
  dependsOn: [disconnect.id],
  networkId: 'n3id',
};

const full: Plan = {
  ...base,
  actions: [pull, remove, disconnect, removeNet, createNet, create, connect, start],
};

describe('formatPlan', () => {
  test('counts: pull and create add, start/connect/disconnect change, remove destroys; a replacement counts in add and destroy', () => {
    expect(summarize(full)).toEqual({ add: 3, change: 3, destroy: 2 });
    expect(formatPlan(full, 'text')).toContain('\nPlan: 3 to add, 3 to change, 2 to destroy.\n');
  });

  test('the remove and create of one name carry -/+, numbers stand for edges, the legend lists only used symbols', () => {
    const lines = formatPlan(full, 'text').split('\n');
    const line = (id: string) =>
      lines.find((l) => l.includes(id.split(':')[0]!) && l.includes(id.split(':')[1]!))!;
    expect(line(remove.id)).toMatch(/^ {2}#2 {2}-\/\+ {2}remove-container/);
    expect(line(create.id)).toMatch(/-\/\+ {2}create-container .* after #2, #5$/);
    expect(line(removeNet.id)).toMatch(/^ {2}#4 {4}- {2}remove-network/);
    expect(lines).toContain(
      'Symbols: ^ pull or load  + create  - destroy  -/+ replace  ~ update in place  > start',
    );
    expect(formatPlan({ ...base, actions: [pull] }, 'text')).toContain('Symbols: ^ pull or load\n');
    // An endpoint of a container we cannot name shows its short id.
    expect(formatPlan(full, 'text')).toContain('container abcdef012345 from n3');
  });

  test('empty plans: up to date when ready, otherwise what it waits on', () => {
    expect(formatPlan({ ...base, ready: true }, 'text')).toBe(
      'Plan for task T run 0, snapshot 2024-05-01T12:00:00.000Z (daemon clock)\n\nNo changes. Services are up to date.\n',
    );
    const waiting: Plan = {
      ...base,
      waiting: [{ node: db.id, name: db.name, reason: 'health starting' }],
      blocked: [{ name: 'x', code: 'name-conflict', reason: 'held' }],
    };
    const text = formatPlan(waiting, 'text');
    expect(text).toContain(`Waiting (1):\n  ${db.name}  health starting\n`);
    expect(text).toContain('Blocked (1):\n  x  name-conflict  held\n');
    expect(text).toContain('No changes now: waiting on 1, blocked on 1.\n');
    // Not ready with nothing to do and nothing waited on: not a plan the planner makes, but the
    // summary must not call it up to date.
    expect(formatPlan(base, 'text')).toContain('\nNo changes now: services not ready.\n');
  });

  test('blocked entries line up in columns, each padded on the right', () => {
    const text = formatPlan(
      {
        ...base,
        blocked: [
          { name: 'a-long-name', code: 'name-conflict', reason: 'held by another' },
          { name: 'b', code: 'crash-loop', reason: 'exited' },
        ],
      },
      'text',
    );
    expect(text).toContain(
      'Blocked (2):\n  a-long-name  name-conflict  held by another\n  b            crash-loop     exited\n',
    );
  });

  test('JSON is the stable machine form', () => {
    const json = JSON.parse(
      formatPlan(
        {
          ...full,
          waiting: [{ node: 'n', name: 'w', reason: 'r', until: Date.parse('2024-05-01T12:00:05Z') }],
        },
        'json',
      ),
    );
    expect(Object.keys(json)).toEqual([
      'taskId',
      'runId',
      'snapshotTime',
      'ready',
      'actions',
      'waiting',
      'blocked',
      'summary',
    ]);
    expect(json.actions[5]).toEqual({
      id: create.id,
      kind: 'create-container',
      target: { type: 'container', name: db.name },
      cause: 'spec hash 9a0c→41d7',
      dependsOn: [remove.id, createNet.id],
    });
    expect(json.waiting[0].until).toBe('2024-05-01T12:00:05.000Z');
    expect(json.summary).toEqual({ add: 3, change: 3, destroy: 2 });
  });

  test('no env value of a node appears in either form', () => {
    expect(db.env.DB_PASSWORD).toBe(SECRET);
    for (const format of ['text', 'json'] as const) expect(formatPlan(full, format)).not.toContain(SECRET);
  });
});
