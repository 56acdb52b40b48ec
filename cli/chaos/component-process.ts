/**
 * One Pharos component (`pharos pipeline`, `collector`, `alerts`) as a child process the chaos
 * run can kill, stop gracefully, pause and start again. Children run the same CLI entry the
 * chaos command runs from (compiled, or source through tsx), so a test of the chaos command
 * exercises the code under test. Output goes to a file per component in the work directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';

export interface ComponentProcessOptions {
  /** `pipeline`, `collector` or `alerts`: the subcommand. */
  command: string;
  configFile: string;
  workDir: string;
  /** Extra environment for the next start only (fault hooks). */
  env?: Record<string, string>;
}

export class ComponentProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** Starts, including those after faults. */
  starts = 0;
  /** Exits nobody asked for (a crash, or a fault hook's self-kill). */
  unexpectedExits = 0;
  private expectingExit = false;

  constructor(private readonly opts: ComponentProcessOptions) {}

  get name(): string {
    return this.opts.command;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  get logFile(): string {
    return join(this.opts.workDir, `${this.opts.command}.out`);
  }

  /**
   * @param expectExit the process is expected to end by itself (a fault hook that kills it):
   *   its exit is not counted as unexpected.
   */
  start(extraEnv: Record<string, string> = {}, expectExit = false): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const out = openSync(this.logFile, 'a');
    try {
      // process.argv[1] is the CLI entry this chaos run started from; execArgv carries `--import tsx` when run from source.
      this.child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, this.opts.command, '--config', this.opts.configFile], {
        env: { ...process.env, ...this.opts.env, ...extraEnv },
        stdio: ['ignore', out, out],
      });
    } finally {
      closeSync(out);
    }
    this.starts++;
    this.expectingExit = expectExit;
    const child = this.child;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (!this.expectingExit) this.unexpectedExits++;
        resolve();
      });
    });
  }

  /** Resolves when the current child has exited (at once if none runs). */
  waitExit(): Promise<void> {
    return this.exited;
  }

  kill(): Promise<void> {
    return this.signalAndWait('SIGKILL');
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`: a graceful stop that cannot hang the run. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGCONT'); // a paused process cannot handle SIGTERM
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    await this.signalAndWait('SIGTERM');
    clearTimeout(timer);
  }

  pause(): void {
    if (this.running) this.child!.kill('SIGSTOP');
  }

  resume(): void {
    if (this.running) this.child!.kill('SIGCONT');
  }

  private async signalAndWait(signal: NodeJS.Signals): Promise<void> {
    if (!this.running) return;
    this.expectingExit = true;
    this.child!.kill(signal);
    await this.exited;
  }
}
