import { randomBytes } from 'node:crypto';

/**
 * A task id as Taskcluster makes them (`slugid.nice()`: a v4 uuid with the first bit clear, so it
 * never starts with `-`, which a command line would take for an option).
 */
export function slugid(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return bytes.toString('base64url');
}
