/**
 * Output that never shows a secret: every line the CLI prints goes through this, whatever a
 * library error message or an event says.
 */
import { REDACTED } from '../credentials/redact.js';
import type { OutputStream } from './io.js';

/**
 * `stream` with every one of `secrets` replaced by the redaction marker (longest first). Values
 * shorter than 8 characters are left alone: they would mangle output and are not credentials.
 */
export function redacting(stream: OutputStream, secrets: readonly string[]): OutputStream {
  const ordered = secrets.filter((s) => s.length >= 8).sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return stream;
  return {
    write: (text: string) =>
      stream.write(ordered.reduce((out, secret) => out.split(secret).join(REDACTED), text)),
    ...(stream.isTTY !== undefined ? { isTTY: stream.isTTY } : {}),
    ...(stream.columns !== undefined ? { columns: stream.columns } : {}),
  };
}
