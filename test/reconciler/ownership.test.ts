/** Which task run an observed object belongs to, by its labels: what teardown and GC go by. */
import { describe, expect, it } from '@jest/globals';
import type { OwnerRef } from '../../src/desired-state/types.js';
import type { Snapshot } from '../../src/observed-state/types.js';
import { inactiveRuns, ofRun, taskObjectsLeft } from '../../src/reconciler/ownership.js';
import {
  BASE_OWNER,
  BASE_TIME,
  observedContainer,
  observedNetwork,
  ownerLabels,
} from '../support/builders.js';

const otherWorker: OwnerRef = { ...BASE_OWNER, ownerId: 'worker-8' };
const nextRun: OwnerRef = { ...BASE_OWNER, runId: 1 };
const otherTask: OwnerRef = { ...BASE_OWNER, taskId: 'Zq3pT0dWQm2Lk9sXyA1b7C' };

function snapshot(containers: OwnerRef[], networks: OwnerRef[]): Snapshot {
  return {
    time: BASE_TIME,
    containers: containers.map((owner, i) => observedContainer(`c${i}`, ownerLabels(owner))),
    networks: networks.map((owner, i) => observedNetwork(`n${i}`, ownerLabels(owner))),
    images: [],
    missingImages: [],
    foreign: [],
  };
}

describe('ofRun', () => {
  it('takes an object of the same worker, task and run', () => {
    expect(ofRun(BASE_OWNER, ownerLabels(BASE_OWNER))).toBe(true);
  });

  it("refuses another worker's object of the same task run, another run and another task", () => {
    expect(ofRun(BASE_OWNER, ownerLabels(otherWorker))).toBe(false);
    expect(ofRun(BASE_OWNER, ownerLabels(nextRun))).toBe(false);
    expect(ofRun(BASE_OWNER, ownerLabels(otherTask))).toBe(false);
  });
});

describe('taskObjectsLeft', () => {
  it("counts the run's containers and networks, not those of other runs or workers", () => {
    const left = snapshot([BASE_OWNER, nextRun, BASE_OWNER, otherWorker], [otherTask, BASE_OWNER]);
    expect(taskObjectsLeft(BASE_OWNER, left)).toBe(3);
    expect(taskObjectsLeft(nextRun, left)).toBe(1);
  });

  it('is 0 once only networks of other runs are left', () => {
    expect(taskObjectsLeft(BASE_OWNER, snapshot([], [nextRun]))).toBe(0);
  });
});

describe('inactiveRuns', () => {
  it("lists each run of the worker's inactive tasks once, sorted by task and run", () => {
    const runs = inactiveRuns(
      snapshot([nextRun, otherTask, BASE_OWNER, otherWorker], [BASE_OWNER, otherTask]),
      BASE_OWNER.ownerId,
      [],
    );
    // 'Zq…' sorts before 'fX…': the ids are compared as written.
    expect(runs).toEqual([otherTask, BASE_OWNER, nextRun]);
  });

  it('leaves out every run of an active task, and runs found only on networks are listed', () => {
    expect(
      inactiveRuns(snapshot([BASE_OWNER, nextRun], [otherTask]), BASE_OWNER.ownerId, [BASE_OWNER.taskId]),
    ).toEqual([otherTask]);
  });

  it('ignores objects whose labels name no run', () => {
    const unlabelled: Snapshot = {
      ...snapshot([], []),
      containers: [observedContainer('c', {})],
      networks: [observedNetwork('n', {})],
    };
    expect(inactiveRuns(unlabelled, BASE_OWNER.ownerId, [])).toEqual([]);
  });
});
