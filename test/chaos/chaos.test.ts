/**
 * `pharos chaos` end to end: the ci scenario (pipeline crashes between insert and commit and by
 * SIGKILL, collector paused, restarted and its file rotated, alert evaluator killed mid-incident,
 * broker killed) stores everything exactly once and pages once; and the same checks fail a run
 * whose pipeline inserts without deduplication tokens, so a pass means something.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { ChaosReport } from '../../cli/chaos/run-chaos.js';
import { spawnPharos } from '../harness/pharos-process.js';

async function chaos(args: string[]): Promise<{ code: number | null; report: ChaosReport; output: string }> {
  const p = spawnPharos(['chaos', '--json', ...args], {});
  const code = await new Promise<number | null>((resolve) => p.proc.once('exit', (c) => resolve(c)));
  const line = p.output().split('\n').find((l) => l.startsWith('{"scenario"'));
  if (!line) throw new Error(`no report from pharos chaos (exit ${code}):\n${p.output().slice(-4000)}`);
  return { code, report: JSON.parse(line) as ChaosReport, output: p.output() };
}

describe('pharos chaos', () => {
  test('the ci scenario loses, repeats and misses nothing', async () => {
    const { code, report } = await chaos(['--scenario', 'ci']);
    const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    expect(failed, `work dir ${report.workDir}`).toEqual([]);
    expect(report.ok).toBe(true);
    expect(code).toBe(0);
    expect(report.faults.every((f) => f.done)).toBe(true);
    expect(report.faults.map((f) => `${f.action} ${f.target}`)).toEqual(expect.arrayContaining(['crash_after_insert pipeline', 'fill_spool collector', 'kill alerts', 'rotate collector']));
    expect(report.generated.lines).toBeGreaterThan(5000);
  }, 300_000);

  test('fails, naming the repeated samples, when the pipeline inserts without deduplication tokens', async () => {
    const scenario = join(mkdtempSync(join(tmpdir(), 'pharos-chaos-')), 'dedup.yaml');
    writeFileSync(
      scenario,
      'name: dedup-self-test\nduration_s: 14\nlines_per_s: 200\nmetric_series: 2\nalert_fire_s: 3\nalert_clear_s: 9\n' +
        'faults:\n  - { at_s: 2, target: pipeline, action: crash_after_insert }\n',
    );
    const { code, report } = await chaos(['--scenario', scenario, '--break-deduplication']);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    // The crash lands after the first insert of either table: whichever it was, its rows are there twice.
    const warehouse = report.checks.filter((c) => c.name.includes('warehouse exactly once'));
    expect(warehouse.some((c) => !c.ok && /[1-9]\d* repeated|repeated: [1-9]/.test(c.detail))).toBe(true);
  }, 300_000);

  test('a scenario with a fault outside its duration is refused before anything starts', async () => {
    const scenario = join(mkdtempSync(join(tmpdir(), 'pharos-chaos-')), 'bad.yaml');
    writeFileSync(scenario, 'name: bad\nduration_s: 10\nalert_fire_s: 2\nalert_clear_s: 5\nfaults:\n  - { at_s: 9, target: broker, action: kill, down_s: 5 }\n');
    const p = spawnPharos(['chaos', '--scenario', scenario], {});
    const code = await new Promise<number | null>((resolve) => p.proc.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(p.output()).toContain('faults.0.at_s: the fault (and its down time) must end inside duration_s');
  });
});
