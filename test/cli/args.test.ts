import { describe, expect, it } from '@jest/globals';
import {
  COMMANDS,
  DEFAULT_TASK_ID,
  outputOption,
  parseCommandLine,
  runIdOption,
  secondsOption,
} from '../../src/cli/args.js';
import { UsageError } from '../../src/cli/errors.js';
import { main } from '../../src/cli/run.js';
import { captureIo } from './support/io.js';

function parsed(argv: string[]) {
  const result = parseCommandLine(argv);
  if (result === 'help') throw new Error('expected a command');
  return result;
}

describe('command line', () => {
  it('the default task id is slugid-shaped (22 url-safe base64 chars, v4 nibble)', () => {
    expect(DEFAULT_TASK_ID).toMatch(
      /^[A-Za-z0-9_-]{8}[Q-T][A-Za-z0-9_-][CGKOSWaeimquy26-][A-Za-z0-9_-]{10}[AQgw]$/,
    );
  });

  it('parses options and positionals of a command', () => {
    const p = parsed(['plan', 'x.json', '--offline', '--output', 'json', '--run-id', '3']);
    expect(p.command.name).toBe('plan');
    expect(p.positionals).toEqual(['x.json']);
    expect(p.values.offline).toBe(true);
    expect(outputOption(p.values)).toBe('json');
    expect(runIdOption(p.values)).toBe(3);
  });

  it('collects a repeated option', () => {
    expect(parsed(['gc', '--active', 'a', '--active', 'b']).values.active).toEqual(['a', 'b']);
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['plan', '--bogus'], /Unknown option '--bogus'/],
    [['up'], /missing FILE/],
    [['validate', 'a.json', 'b.json'], /unexpected argument "b.json"/],
    [['down', 'x.json'], /unexpected argument "x.json"/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(UsageError);
    expect(() => parseCommandLine(argv)).toThrow(message);
  });

  it.each([
    [() => outputOption({ output: 'yaml' }), /--output must be text or json/],
    [() => runIdOption({ 'run-id': '-1' }), /--run-id must be a run number/],
    [() => runIdOption({ 'run-id': '1.5' }), /--run-id/],
    [() => secondsOption({ timeout: '0' }, 'timeout', 5), /--timeout must be a number of seconds/],
    [() => secondsOption({ timeout: 'ten' }, 'timeout', 5), /--timeout/],
  ])('refuses a bad value (%#)', (call, message) => {
    expect(call).toThrow(message);
  });

  it('every command has help with an example, reachable with --help and -h', async () => {
    for (const command of COMMANDS) {
      for (const flag of ['--help', '-h']) {
        const io = captureIo();
        expect(await main([command.name, flag], io)).toBe(0);
        expect(io.out()).toBe(command.help);
        expect(io.out()).toMatch(new RegExp(`Example:\\n  docker-services ${command.name} `));
        expect(io.err()).toBe('');
      }
    }
  });

  it('--help lists every command; no command at all prints it and fails', async () => {
    const help = captureIo();
    expect(await main(['--help'], help)).toBe(0);
    for (const command of COMMANDS) expect(help.out()).toContain(`  ${command.name} `);
    const none = captureIo();
    expect(await main([], none)).toBe(1);
    expect(none.out()).toBe(help.out());
  });

  it('a usage error goes to stderr with a pointer to help, exit 1', async () => {
    const io = captureIo();
    expect(await main(['plan', '--output'], io)).toBe(1);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(/^docker-services plan: .*--output/);
    expect(io.err()).toContain('Run `docker-services plan --help` for usage.');
  });
});
