/**
 * A chaos scenario: how long the generators run, how fast, and which faults hit which process
 * when. Built-in scenarios are named (`ci`, `standard`); a YAML file with the same shape can be
 * given instead. Times are seconds from the start of generation.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

export const FAULT_TARGETS = ['broker', 'pipeline', 'collector', 'alerts'] as const;
export type FaultTarget = (typeof FAULT_TARGETS)[number];

const fault = z.strictObject({
  at_s: z.number().min(0),
  target: z.enum(FAULT_TARGETS),
  /**
   * kill: SIGKILL, restarted after `down_s`. restart: SIGTERM (graceful), restarted after `down_s`.
   * pause: SIGSTOP for `down_s`, then SIGCONT. crash_after_insert (pipeline only): restarted so that
   * it kills itself right after its next ClickHouse insert and before the offset commit — the
   * window exactly-once has to cover — then restarted normally.
   * rotate (collector only): the generated file is renamed and a new one created, under load.
   * fill_spool (collector only): the broker is killed until the collector's (small) disk spool
   * has filled, at most `down_s`, while the generator writes `burst`× faster: the collector must
   * stop reading files, keep everything, and deliver it all once the broker is back.
   */
  action: z.enum(['kill', 'restart', 'pause', 'crash_after_insert', 'rotate', 'fill_spool']),
  down_s: z.number().min(0).default(2),
  burst: z.number().min(1).max(100).default(10),
});
export type Fault = z.infer<typeof fault>;

export const scenarioSchema = z
  .strictObject({
    name: z.string().min(1),
    /** Generation time; faults must fall inside it. */
    duration_s: z.number().min(5).max(3600),
    lines_per_s: z.number().int().min(1).max(50_000).default(200),
    /** Numbered metric series, one sample per second each. */
    metric_series: z.number().int().min(1).max(1000).default(5),
    /** The alert signal goes above its threshold at this time and back at `alert_clear_s`: one page, one resolve expected. */
    alert_fire_s: z.number().min(0),
    alert_clear_s: z.number().min(0),
    /** How long the stack may take after generation ends to have stored everything. */
    settle_timeout_s: z.number().min(5).max(600).default(90),
    faults: z.array(fault).default([]),
  })
  .superRefine((s, ctx) => {
    if (s.alert_clear_s <= s.alert_fire_s) ctx.addIssue({ code: 'custom', path: ['alert_clear_s'], message: 'must come after alert_fire_s' });
    if (s.alert_clear_s >= s.duration_s) ctx.addIssue({ code: 'custom', path: ['alert_clear_s'], message: 'must fall inside duration_s' });
    s.faults.forEach((f, i) => {
      if (f.at_s + (f.action === 'rotate' ? 0 : f.down_s) >= s.duration_s) ctx.addIssue({ code: 'custom', path: ['faults', i, 'at_s'], message: 'the fault (and its down time) must end inside duration_s' });
      if (f.action === 'crash_after_insert' && f.target !== 'pipeline') ctx.addIssue({ code: 'custom', path: ['faults', i, 'action'], message: 'crash_after_insert applies to the pipeline only' });
      if (f.action === 'rotate' && f.target !== 'collector') ctx.addIssue({ code: 'custom', path: ['faults', i, 'action'], message: 'rotate applies to the collector (its tailed file) only' });
      if (f.action === 'fill_spool' && f.target !== 'collector') ctx.addIssue({ code: 'custom', path: ['faults', i, 'action'], message: "fill_spool applies to the collector (its spool) only" });
    });
  });
export type Scenario = z.infer<typeof scenarioSchema>;

/**
 * `ci`: 80 s of generation with one fault of each kind that must not lose or repeat
 * anything: the pipeline dying between insert and commit and by SIGKILL, the collector paused
 * and restarted, its file rotated under load, the alert evaluator killed mid-incident, and the
 * broker killed under a 10× burst until the collector's spool is full.
 */
const BUILT_IN: Record<string, unknown> = {
  ci: {
    name: 'ci',
    duration_s: 80,
    lines_per_s: 200,
    metric_series: 5,
    alert_fire_s: 8,
    alert_clear_s: 22,
    faults: [
      { at_s: 4, target: 'pipeline', action: 'crash_after_insert' },
      { at_s: 8, target: 'collector', action: 'pause', down_s: 3 },
      { at_s: 10, target: 'collector', action: 'restart', down_s: 1 },
      { at_s: 12, target: 'collector', action: 'rotate' },
      { at_s: 14, target: 'alerts', action: 'kill', down_s: 2 },
      { at_s: 18, target: 'pipeline', action: 'kill', down_s: 2 },
      // The collector's Kafka client retries a send 20-45 s before it spools: the outage lasts until the spool is full.
      { at_s: 24, target: 'collector', action: 'fill_spool', down_s: 55, burst: 10 },
    ],
  },
  standard: {
    name: 'standard',
    duration_s: 240,
    lines_per_s: 1000,
    metric_series: 50,
    alert_fire_s: 30,
    alert_clear_s: 200,
    settle_timeout_s: 180,
    faults: [
      { at_s: 10, target: 'pipeline', action: 'crash_after_insert' },
      { at_s: 20, target: 'collector', action: 'pause', down_s: 10 },
      { at_s: 40, target: 'collector', action: 'rotate' },
      { at_s: 45, target: 'alerts', action: 'kill', down_s: 5 },
      { at_s: 60, target: 'collector', action: 'fill_spool', down_s: 40, burst: 5 },
      { at_s: 110, target: 'pipeline', action: 'kill', down_s: 5 },
      { at_s: 130, target: 'collector', action: 'restart', down_s: 5 },
      { at_s: 150, target: 'pipeline', action: 'pause', down_s: 10 },
      { at_s: 170, target: 'collector', action: 'rotate' },
      { at_s: 180, target: 'alerts', action: 'restart', down_s: 3 },
    ],
  },
};

export const BUILT_IN_SCENARIOS = Object.keys(BUILT_IN);

/** A built-in scenario by name, or a YAML file; errors name the key that is wrong. */
export function loadScenario(nameOrFile: string): Scenario {
  const raw = BUILT_IN[nameOrFile] ?? parse(readFileSync(nameOrFile, 'utf8'));
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    const where = BUILT_IN[nameOrFile] ? `built-in scenario ${nameOrFile}` : nameOrFile;
    throw new Error(`${where}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
