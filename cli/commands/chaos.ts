import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChaos, type ChaosReport } from '../chaos/run-chaos.js';
import { loadScenario } from '../chaos/scenario.js';
import { createLogger } from '../../core/log.js';

export interface ChaosCommandOptions {
  scenario: string;
  workDir?: string;
  json?: boolean;
  breakDeduplication?: boolean;
}

/** `pharos chaos`: runs a scenario, prints the report, exits 0 only when nothing was lost, repeated or missed. */
export async function runChaosCommand(opts: ChaosCommandOptions): Promise<void> {
  let scenario;
  try {
    scenario = loadScenario(opts.scenario);
  } catch (err) {
    process.stderr.write(`pharos chaos: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const log = createLogger({ level: 'info', destination: process.stderr }).child({ service: 'pharos-chaos' });
  const workDir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'pharos-chaos-'));
  let report: ChaosReport;
  try {
    report = await runChaos({ scenario, workDir, log, breakDeduplication: opts.breakDeduplication === true });
  } catch (err) {
    process.stderr.write(`pharos chaos: the run could not complete: ${(err as Error).stack ?? String(err)}\n(work directory: ${workDir})\n`);
    process.exit(2);
  }
  process.stdout.write(opts.json ? JSON.stringify(report) + '\n' : formatReport(report));
  process.exit(report.ok ? 0 : 1);
}

export function formatReport(r: ChaosReport): string {
  const lines = [
    `chaos scenario ${r.scenario} (run ${r.run}) — ${r.ok ? 'PASSED' : 'FAILED'} in ${r.durationS} s`,
    `generated: ${r.generated.lines} log lines, ${r.generated.metricTicks} ticks × ${r.generated.metricSeries} metric series, ${r.generated.rotations} rotation(s)`,
    'faults:',
    ...r.faults.map((f) => `  t=${f.at_s}s ${f.action} ${f.target}${f.done ? '' : ' (did not complete)'}${f.note ? ` — ${f.note}` : ''}`),
    'checks:',
    ...r.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    `work directory (process logs, data): ${r.workDir}`,
    '',
  ];
  return lines.join('\n');
}
