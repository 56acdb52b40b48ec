/**
 * Log rules: an alerting rule whose value is the count (or per-second rate) of log lines matching
 * a search over a trailing window, per label set, compared with a threshold. Written in a rule
 * file in place of `expr`:
 *
 *   - alert: PaymentFailures
 *     logs:
 *       match: '"payment failed"'   # tokens and "quoted phrases", as the log search (all must be in the body)
 *       service: checkout           # optional: service.name
 *       host: web-1                 # optional: host.name
 *       min_severity: ERROR         # optional: TRACE DEBUG INFO WARN ERROR FATAL, or 1-24
 *       attributes: { http.status_code: "500" }   # optional: log attributes equal to these
 *       window: 5m
 *       by: [service, host]         # service, host, severity, attr.<key>, resource.<key>
 *       function: count             # count (lines in the window) or rate (lines per second)
 *       condition: '> 10'           # >, >=, <, <=, ==, != and a number
 *     for: 2m
 *
 * Label names: service → `service`, host → `host`, severity → `severity`, `attr.http.status_code`
 * → `http_status_code` (dots and other characters become `_`).
 */
import { z } from 'zod';
import { parseDurationMs } from '../rules/duration.js';

const SEVERITIES: Record<string, number> = { TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, WARNING: 13, ERROR: 17, FATAL: 21 };
const BY = /^(service|host|severity|(attr|resource)\.[A-Za-z0-9_.\-/]+)$/;
const CONDITION = /^\s*(>=|<=|==|!=|>|<)\s*(-?\d+(\.\d+)?([eE][-+]?\d+)?)\s*$/;

export const logQuerySchema = z.strictObject({
  match: z.string().default(''),
  service: z.string().min(1).optional(),
  host: z.string().min(1).optional(),
  min_severity: z
    .union([z.number().int().min(1).max(24), z.string().refine((s) => SEVERITIES[s.toUpperCase()] !== undefined, { message: 'expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL' })])
    .optional(),
  attributes: z.record(z.string(), z.string()).optional(),
  window: z.string().refine((s) => (parseDurationMs(s) ?? 0) > 0, { message: 'expected a duration above 0, e.g. 5m' }),
  by: z.array(z.string().regex(BY, 'expected service, host, severity, attr.<key> or resource.<key>')).default([]),
  function: z.enum(['count', 'rate']).default('count'),
  condition: z.string().regex(CONDITION, "expected a comparison such as '> 10'"),
});

export type LogQueryConfig = z.infer<typeof logQuerySchema>;
export type Comparison = '>' | '>=' | '<' | '<=' | '==' | '!=';

export interface LogRuleQuery {
  text: string;
  service?: string | undefined;
  host?: string | undefined;
  minSeverity?: number | undefined;
  attributes: Readonly<Record<string, string>>;
  windowMs: number;
  by: readonly string[];
  fn: 'count' | 'rate';
  op: Comparison;
  threshold: number;
}

export function compileLogQuery(c: LogQueryConfig): LogRuleQuery {
  const m = CONDITION.exec(c.condition)!;
  return {
    text: c.match,
    service: c.service,
    host: c.host,
    minSeverity: typeof c.min_severity === 'string' ? SEVERITIES[c.min_severity.toUpperCase()] : c.min_severity,
    attributes: c.attributes ?? {},
    windowMs: parseDurationMs(c.window)!,
    by: c.by,
    fn: c.function,
    op: m[1] as Comparison,
    threshold: Number(m[2]),
  };
}

/** The label a `by` entry becomes. */
export function byLabel(by: string): string {
  const key = by.startsWith('attr.') ? by.slice(5) : by.startsWith('resource.') ? by.slice(9) : by;
  const clean = key.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(clean) ? `_${clean}` : clean;
}

export function compare(v: number, op: Comparison, threshold: number): boolean {
  switch (op) {
    case '>':
      return v > threshold;
    case '>=':
      return v >= threshold;
    case '<':
      return v < threshold;
    case '<=':
      return v <= threshold;
    case '==':
      return v === threshold;
    case '!=':
      return v !== threshold;
  }
}

/** A readable form, for the rules API and generator links. */
export function describeLogQuery(q: LogRuleQuery): string {
  const parts = [q.text && `match ${JSON.stringify(q.text)}`, q.service && `service=${q.service}`, q.host && `host=${q.host}`, q.minSeverity && `severity>=${q.minSeverity}`, ...Object.entries(q.attributes).map(([k, v]) => `${k}=${v}`)].filter(Boolean);
  return `${q.fn}(logs{${parts.join(', ')}}[${q.windowMs / 1000}s])${q.by.length ? ` by (${q.by.join(', ')})` : ''} ${q.op} ${q.threshold}`;
}
