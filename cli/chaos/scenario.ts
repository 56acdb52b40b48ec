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
   */
  action: z.enum(['kill', 'restart', 'pause', 'crash_after_insert', 'rotate']),
  down_s: z.number().min(0).default(2),
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
    });
  });
export type Scenario = z.infer<typeof scenarioSchema>;

/**
 * `ci`: about a minute of generation with one fault of each kind that must not lose or repeat
 * anything: the pipeline dying between insert and commit and by SIGKILL, the collector paused
 * and restarted, its file rotated under load, the alert evaluator killed mid-incident, the
 * broker killed and restarted.
 */
const BUILT_IN: Record<string, unknown> = {
  ci: {
    name: 'ci',
    duration_s: 40,
    lines_per_s: 200,
    metric_series: 5,
    alert_fire_s: 8,
    alert_clear_s: 26,
    faults: [
      { at_s: 4, target: 'pipeline', action: 'crash_after_insert' },
      { at_s: 8, target: 'collector', action: 'pause', down_s: 3 },
      { at_s: 12, target: 'collector', action: 'rotate' },
      { at_s: 14, target: 'alerts', action: 'kill', down_s: 2 },
      { at_s: 18, target: 'pipeline', action: 'kill', down_s: 2 },
      { at_s: 24, target: 'broker', action: 'kill', down_s: 4 },
      { at_s: 32, target: 'collector', action: 'restart', down_s: 1 },
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
      { at_s: 60, target: 'broker', action: 'kill', down_s: 30 },
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
