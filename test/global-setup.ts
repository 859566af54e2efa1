import { randomBytes } from 'node:crypto';

/**
 * One id per jest run: tests label what they create with it, and global-teardown.ts fails the run
 * if anything carrying it is left. Workers inherit the environment set here.
 */
export default async function globalSetup(): Promise<void> {
  process.env.DS_TEST_RUN ??= randomBytes(4).toString('hex');
}
