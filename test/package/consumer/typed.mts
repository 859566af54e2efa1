// A TypeScript ES module embedder: the `import` condition's declarations (dist/*.d.ts).
import { ServiceManager, ServiceStartError, type StopResult } from 'docker-services';
import { Label } from 'docker-services/types';

export function reason(error: unknown): string | undefined {
  return error instanceof ServiceStartError ? error.reason.kind : undefined;
}
export type Stopped = StopResult;
export const ownerLabel: string = Label.owner;
// @ts-expect-error: a manager needs its options
export const broken = new ServiceManager();
