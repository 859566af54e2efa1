/**
 * Frames Docker's `/events` byte stream into JSON values. dockerd writes either newline-delimited
 * JSON (ndjson / JSON lines) or RFC 7464 json-seq (each record led by 0x1E and ended by `\n`),
 * depending on version and negotiation, and a read may end anywhere inside a frame, even inside a
 * multi-byte UTF-8 character. A frame that is not JSON is skipped and counted, never thrown: one
 * bad line must not take the observer down.
 */
import { StringDecoder } from 'node:string_decoder';

const RECORD_SEPARATOR = '\x1e';
const FRAME_END = new RegExp(`[\n${RECORD_SEPARATOR}]`);

export class FrameParser {
  private readonly decoder = new StringDecoder('utf8');
  private tail = '';
  /** Frames that were not JSON, since this parser was made. */
  skipped = 0;

  /** Feeds one read; returns the complete frames it finished, parsed. */
  push(chunk: Buffer | string): unknown[] {
    const text = this.tail + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const pieces = text.split(FRAME_END);
    this.tail = pieces.pop() ?? '';
    return this.parse(pieces);
  }

  /** The stream ended: a last frame without a terminator is still a frame. */
  end(): unknown[] {
    const rest = this.tail + this.decoder.end();
    this.tail = '';
    return this.parse([rest]);
  }

  private parse(pieces: string[]): unknown[] {
    const values: unknown[] = [];
    for (const piece of pieces) {
      const frame = piece.replaceAll(RECORD_SEPARATOR, '').trim();
      if (frame === '') continue;
      try {
        values.push(JSON.parse(frame));
      } catch {
        this.skipped += 1;
      }
    }
    return values;
  }
}

/** A Docker event as we use it: only the fields that say which object changed. */
export interface DockerEvent {
  type: string;
  action: string;
  /** Container id, network id, or image reference/id. */
  actorId: string;
  attributes: Record<string, string>;
  /** Daemon time in nanoseconds since the epoch; approximate (JSON numbers lose the last digits). */
  timeNano?: string;
}

/** Reads an event out of one frame; undefined when the frame is not an event we understand. */
export function toDockerEvent(value: unknown): DockerEvent | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as {
    Type?: unknown;
    Action?: unknown;
    Actor?: { ID?: unknown; Attributes?: unknown };
    timeNano?: unknown;
    // API < 1.22 shape, still sent alongside by 20.10.
    status?: unknown;
    id?: unknown;
  };
  const type = typeof v.Type === 'string' ? v.Type : undefined;
  const action =
    typeof v.Action === 'string' ? v.Action : typeof v.status === 'string' ? v.status : undefined;
  const actorId = typeof v.Actor?.ID === 'string' ? v.Actor.ID : typeof v.id === 'string' ? v.id : undefined;
  if (!type || !action || actorId === undefined) return undefined;
  const attributes: Record<string, string> = {};
  const wire = v.Actor?.Attributes;
  if (typeof wire === 'object' && wire !== null) {
    for (const [key, val] of Object.entries(wire)) if (typeof val === 'string') attributes[key] = val;
  }
  const event: DockerEvent = { type, action, actorId, attributes };
  if (typeof v.timeNano === 'number' || typeof v.timeNano === 'string') event.timeNano = String(v.timeNano);
  return event;
}
