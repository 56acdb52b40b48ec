/** The machine a benchmark ran on, printed beside its figures (2 noisy cores: compare ratios within a run). */
import { cpus, loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memory_gib: number;
  node: string;
  load_before: number[];
}

export function machine(): MachineInfo {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    load_before: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function printMachine(m: MachineInfo): void {
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, node ${m.node}, load ${m.load_before.join(' ')}`);
}
