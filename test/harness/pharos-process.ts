/** Runs the real `pharos` CLI as a child process (from source, through tsx) and watches its log. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { GiveUp, waitFor } from './wait.js';

const CLI = join(import.meta.dirname, '..', '..', 'cli', 'main.ts');

export interface PharosProcess {
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL if it has not exited in time; resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export function spawnPharos(args: string[], env: Record<string, string>): PharosProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...(process.env.PHAROS_KAFKA_CACHE ? { PHAROS_KAFKA_CACHE: process.env.PHAROS_KAFKA_CACHE } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    output: () => out,
    waitForOutput: (pattern, timeoutMs = 60_000) =>
      waitFor(`output matching ${pattern}`, () => {
        if (proc.exitCode !== null) throw new GiveUp(`pharos exited with ${proc.exitCode}:\n${out.slice(-3000)}`);
        return out.match(pattern);
      }, timeoutMs),
    stop: async (timeoutMs = 20_000) => {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
