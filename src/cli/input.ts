/**
 * Reads what the user points a command at: a whole task definition (its `payload` and `scopes`
 * are used) or a bare payload, from a file or from stdin (`-`). Only the JSON shape is checked
 * here; the payload itself is decoded by `src/desired-state`.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { InputError } from './errors.js';
import type { CliIo } from './io.js';

/** Far above any real task definition; a guard against piping the wrong file in. */
export const MAX_INPUT_BYTES = 8 * 1024 * 1024;

export interface TaskInput {
  /** The payload, undecoded. */
  payload: unknown;
  /** The task's scopes (empty for a bare payload): services see them as `TASK_SCOPES`. */
  scopes: string[];
  /** What was read: `task definition` or `payload`. */
  shape: 'task definition' | 'payload';
  /** For messages: the path as given, or `stdin`. */
  source: string;
}

export async function loadTaskInput(path: string, io: CliIo): Promise<TaskInput> {
  const source = path === '-' ? 'stdin' : path;
  const text =
    path === '-' ? await readStream(io.stdin, source) : await readPath(resolve(io.cwd, path), source);
  return taskInputFromJson(parseJson(text, source), source);
}

export function taskInputFromJson(value: unknown, source: string): TaskInput {
  if (!isObject(value))
    throw new InputError(`${source}: expected a JSON object (a task definition or a payload)`);
  if (!('payload' in value)) {
    // Every docker-worker payload names its image: without it (and without services) this is most
    // likely a task definition with a misspelt "payload", which would otherwise pass as a payload
    // with no services.
    if (!('image' in value) && !('services' in value))
      throw new InputError(
        `${source}: neither a task definition (no "payload") nor a payload (no "image" or "services")`,
      );
    return { payload: value, scopes: [], shape: 'payload', source };
  }
  if (!isObject(value.payload)) throw new InputError(`${source}: "payload" must be an object`);
  const scopes = value.scopes ?? [];
  if (!Array.isArray(scopes) || !scopes.every((s): s is string => typeof s === 'string'))
    throw new InputError(`${source}: "scopes" must be an array of strings`);
  return { payload: value.payload, scopes: [...scopes], shape: 'task definition', source };
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    // V8's message quotes a slice of the text, which may hold a secret env value: keep only where.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    const where = position === undefined ? '' : ` (at ${lineAndColumn(text, Number(position))})`;
    throw new InputError(`${source}: not valid JSON${where}`);
  }
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

async function readPath(path: string, source: string): Promise<string> {
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      `${source}: cannot read (${code === 'ENOENT' ? 'no such file' : (code ?? 'error')})`,
    );
  }
  if (buffer.length > MAX_INPUT_BYTES)
    throw new InputError(`${source}: larger than ${MAX_INPUT_BYTES} bytes`);
  return buffer.toString('utf8');
}

async function readStream(stream: Readable, source: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_INPUT_BYTES) throw new InputError(`${source}: larger than ${MAX_INPUT_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
