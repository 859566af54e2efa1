/**
 * Renders a plan for people (text, after `terraform plan`) and for machines (JSON). Both forms
 * carry only names, kinds, causes and edges: a container's environment and credentials are not
 * part of either, whatever the node holds.
 *
 * Counting, as in the summary line:
 * - add: `pull-image`, `load-image`, `create-network`, `create-container` (an object that was not there);
 * - change: `start-container` (first start or restart), `connect-network`, `disconnect-network`;
 * - destroy: `remove-container`, `remove-network`.
 * A replacement (remove and create of one container name in one plan) counts once in add and
 * once in destroy, and both of its lines carry the `-/+` symbol.
 */
import { describeSource } from '../desired-state/image-source.js';
import type { Action, ActionKind, LoadImage, Plan, PullImage } from './actions.js';

export type PlanFormat = 'text' | 'json';

export interface PlanSummary {
  add: number;
  change: number;
  destroy: number;
}

const COUNTS: Record<ActionKind, keyof PlanSummary> = {
  'pull-image': 'add',
  'load-image': 'add',
  'create-network': 'add',
  'create-container': 'add',
  'start-container': 'change',
  'connect-network': 'change',
  'disconnect-network': 'change',
  'remove-container': 'destroy',
  'remove-network': 'destroy',
};

type PlanSymbol = '^' | '+' | '-' | '-/+' | '~' | '>';

const SYMBOLS: Record<ActionKind, PlanSymbol> = {
  'pull-image': '^',
  'load-image': '^',
  'create-network': '+',
  'create-container': '+',
  'start-container': '>',
  'connect-network': '~',
  'disconnect-network': '~',
  'remove-container': '-',
  'remove-network': '-',
};

const LEGEND: [PlanSymbol, string][] = [
  ['^', 'pull or load'],
  ['+', 'create'],
  ['-', 'destroy'],
  ['-/+', 'replace'],
  ['~', 'update in place'],
  ['>', 'start'],
];

export function summarize(plan: Plan): PlanSummary {
  const summary: PlanSummary = { add: 0, change: 0, destroy: 0 };
  for (const action of plan.actions) summary[COUNTS[action.kind]]++;
  return summary;
}

export interface FormatOptions {
  /**
   * Where the snapshot time comes from: the daemon's clock (a real observation, the default) or
   * the local clock of a plan made against an imagined empty engine (`plan --offline`).
   */
  clock?: 'daemon' | 'offline';
}

export function formatPlan(plan: Plan, format: PlanFormat, options: FormatOptions = {}): string {
  return format === 'json' ? formatJson(plan) : formatText(plan, options.clock ?? 'daemon');
}

const CLOCK_NOTE = { daemon: 'daemon clock', offline: 'offline: empty engine, local clock' } as const;

function formatJson(plan: Plan): string {
  const machine = {
    taskId: plan.taskId,
    runId: plan.runId,
    snapshotTime: plan.snapshotTime,
    ready: plan.ready,
    actions: plan.actions.map((a) => ({
      id: a.id,
      kind: a.kind,
      // JSON.stringify leaves out what is undefined (a target without a node or an object id).
      target: { type: a.target.type, name: a.target.name, node: a.target.node, objectId: a.target.objectId },
      ...(a.kind === 'pull-image' || a.kind === 'load-image' ? { source: sourceOf(a) } : {}),
      cause: a.cause,
      dependsOn: a.dependsOn,
    })),
    waiting: plan.waiting.map((w) => ({
      node: w.node,
      name: w.name,
      reason: w.reason,
      ...(w.until === undefined ? {} : { until: new Date(w.until).toISOString() }),
    })),
    blocked: plan.blocked.map((b) => ({
      node: b.node,
      name: b.name,
      code: b.code,
      reason: b.reason,
    })),
    summary: summarize(plan),
  };
  return `${JSON.stringify(machine, null, 2)}\n`;
}

function formatText(plan: Plan, clock: 'daemon' | 'offline'): string {
  const out: string[] = [
    `Plan for task ${plan.taskId} run ${plan.runId}, snapshot ${plan.snapshotTime} (${CLOCK_NOTE[clock]})`,
  ];
  const replaced = replacedNames(plan.actions);
  const symbolOf = (a: Action): PlanSymbol =>
    (a.kind === 'remove-container' || a.kind === 'create-container') && replaced.has(a.target.name)
      ? '-/+'
      : SYMBOLS[a.kind];

  if (plan.actions.length > 0) {
    const used = new Set(plan.actions.map(symbolOf));
    out.push(
      '',
      `Symbols: ${LEGEND.filter(([s]) => used.has(s))
        .map(([s, what]) => `${s} ${what}`)
        .join('  ')}`,
      '',
    );
    const number = new Map(plan.actions.map((a, i) => [a.id, `#${i + 1}`]));
    const rows = plan.actions.map((a) => [
      number.get(a.id)!,
      symbolOf(a),
      a.kind,
      subject(a),
      a.cause,
      a.dependsOn.length > 0 ? `after ${a.dependsOn.map((d) => number.get(d) ?? d).join(', ')}` : '',
    ]);
    out.push(...table(rows, [false, true, false, false, false, false]));
  }
  if (plan.waiting.length > 0) {
    out.push('', `Waiting (${plan.waiting.length}):`);
    out.push(
      ...table(
        plan.waiting.map((w) => [
          w.name,
          w.until === undefined ? w.reason : `${w.reason} (at ${new Date(w.until).toISOString()})`,
        ]),
        [false, false],
      ),
    );
  }
  if (plan.blocked.length > 0) {
    out.push('', `Blocked (${plan.blocked.length}):`);
    out.push(
      ...table(
        plan.blocked.map((b) => [b.name, b.code, b.reason]),
        [false, false, false],
      ),
    );
  }

  out.push('', summaryLine(plan));
  return `${out.join('\n')}\n`;
}

function summaryLine(plan: Plan): string {
  if (plan.actions.length > 0) {
    const s = summarize(plan);
    return `Plan: ${s.add} to add, ${s.change} to change, ${s.destroy} to destroy.`;
  }
  if (plan.ready) return 'No changes. Services are up to date.';
  const parts: string[] = [];
  if (plan.waiting.length > 0) parts.push(`waiting on ${plan.waiting.length}`);
  if (plan.blocked.length > 0) parts.push(`blocked on ${plan.blocked.length}`);
  return `No changes now: ${parts.join(', ') || 'services not ready'}.`;
}

/** Where a fetched image comes from, for machines: what `describeSource` says for people. */
function sourceOf(a: PullImage | LoadImage): Record<string, string> {
  if (a.kind === 'pull-image') return { from: 'registry', image: a.image };
  const { source } = a;
  return source.from === 'task-image'
    ? { from: source.from, taskId: source.taskId, path: source.path }
    : { from: source.from, namespace: source.namespace, path: source.path };
}

function subject(a: Action): string {
  switch (a.kind) {
    case 'load-image':
      // Stryker disable next-line Regex: the description starts with "load ", so the first one is that one
      return `${describeSource(a.source).replace(/^load /, '')} as ${a.image}`;
    case 'connect-network':
      return `${a.container} to ${a.network}`;
    case 'disconnect-network':
      return `${a.container ?? `container ${a.containerId.slice(0, 12)}`} from ${a.target.name}`;
    default:
      return a.target.name;
  }
}

function replacedNames(actions: Action[]): Set<string> {
  const removed = new Set(actions.filter((a) => a.kind === 'remove-container').map((a) => a.target.name));
  return new Set(
    actions
      .filter((a) => a.kind === 'create-container' && removed.has(a.target.name))
      .map((a) => a.target.name),
  );
}

/** Columns padded to their widest cell (right-aligned where asked), trailing blanks trimmed. */
function table(rows: string[][], rightAligned: boolean[]): string[] {
  // Stryker disable next-line StringLiteral: every row has a cell in every column
  const widths = rightAligned.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    `  ${r.map((cell, i) => (rightAligned[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd(),
  );
}
