/**
 * Rule files compiled for evaluation: expressions parsed once, durations in ms, templates
 * compiled. Only files that pass the checker are compiled, so evaluation never meets a syntax error.
 */
import type { Expr } from '../../pipeline/realtime/promql/parse.js';
import { parseExpr } from '../../pipeline/realtime/promql/parse.js';
import type { Labels } from '../model.js';
import { parseDurationMs } from '../rules/duration.js';
import { parseRuleFile, type RuleFile, type RuleFileIssue } from '../rules/rule-file.js';
import { compileTemplate, type Template } from '../rules/template.js';
import { compileLogQuery, describeLogQuery, type LogRuleQuery } from '../logrules/log-rule.js';

export interface AlertingRuleSpec {
  kind: 'alert';
  name: string;
  exprText: string;
  /** The PromQL expression; undefined for a log rule. */
  expr: Expr | undefined;
  /** A log rule's query over the warehouse, in place of expr. */
  logs?: LogRuleQuery;
  forMs: number;
  keepFiringForMs: number;
  labels: ReadonlyArray<readonly [string, Template]>;
  annotations: ReadonlyArray<readonly [string, Template]>;
}

export interface RecordingRuleSpec {
  kind: 'record';
  name: string;
  exprText: string;
  expr: Expr;
  labels: Labels;
}

export type RuleSpec = AlertingRuleSpec | RecordingRuleSpec;

export interface RuleGroupSpec {
  file: string;
  name: string;
  intervalMs: number;
  /** Max alerts or series per rule; 0 = unlimited (Prometheus's `limit`). */
  limit: number;
  rules: RuleSpec[];
}

/** Prometheus's `global.evaluation_interval` default. */
export const DEFAULT_EVALUATION_INTERVAL_MS = 60_000;

export function compileRuleFile(file: string, rules: RuleFile, defaultIntervalMs = DEFAULT_EVALUATION_INTERVAL_MS): RuleGroupSpec[] {
  return rules.groups.map((g) => ({
    file,
    name: g.name,
    intervalMs: g.interval !== undefined ? (parseDurationMs(g.interval) ?? defaultIntervalMs) : defaultIntervalMs,
    limit: g.limit ?? 0,
    rules: g.rules.map((r): RuleSpec => {
      const logs = r.logs ? compileLogQuery(r.logs) : undefined;
      const expr = r.expr !== undefined ? parseExpr(r.expr) : undefined;
      if (r.record !== undefined) return { kind: 'record', name: r.record, exprText: r.expr!, expr: expr!, labels: r.labels ?? {} };
      return {
        kind: 'alert',
        name: r.alert!,
        exprText: logs ? describeLogQuery(logs) : r.expr!,
        expr,
        ...(logs ? { logs } : {}),
        forMs: r.for !== undefined ? (parseDurationMs(r.for) ?? 0) : 0,
        keepFiringForMs: r.keep_firing_for !== undefined ? (parseDurationMs(r.keep_firing_for) ?? 0) : 0,
        labels: Object.entries(r.labels ?? {}).map(([k, v]) => [k, compileTemplate(v)] as const),
        annotations: Object.entries(r.annotations ?? {}).map(([k, v]) => [k, compileTemplate(v)] as const),
      };
    }),
  }));
}

/**
 * Loads and checks rule files; groups are returned only when every file is clean, so a typo in
 * one file cannot silently drop its alerts while the others run.
 */
export function loadRuleFiles(files: readonly string[], defaultIntervalMs = DEFAULT_EVALUATION_INTERVAL_MS): { groups: RuleGroupSpec[]; issues: RuleFileIssue[] } {
  const groups: RuleGroupSpec[] = [];
  const issues: RuleFileIssue[] = [];
  for (const file of files) {
    const r = parseRuleFile(file);
    issues.push(...r.issues);
    if (r.rules && r.issues.length === 0) groups.push(...compileRuleFile(file, r.rules, defaultIntervalMs));
  }
  return issues.length ? { groups: [], issues } : { groups, issues };
}
