/**
 * Rule files in the Prometheus format (groups → rules): loading, structural validation, and the
 * semantic checks of `promtool check rules` (PromQL parses, durations, names, templates). Errors
 * carry file and line, as promtool reports them.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { parseExpr } from '../../pipeline/realtime/promql/parse.js';
import { PromQLError } from '../../pipeline/realtime/promql/value.js';
import { parseDurationMs } from './duration.js';
import { checkTemplate } from './template.js';
import { logQuerySchema } from '../logrules/log-rule.js';

const duration = z.string().regex(/^(\d+(ms|s|m|h|d|w|y))+$/, 'expected a Prometheus duration such as 30s, 5m, 1h');

const ruleSchema = z
  .strictObject({
    alert: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'invalid alert name').optional(),
    record: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'invalid metric name').optional(),
    expr: z.string().min(1, 'expr must not be empty').optional(),
    /** Pharos extension: a log rule (alerts/logrules/log-rule.ts) in place of expr. */
    logs: logQuerySchema.optional(),
    for: duration.optional(),
    keep_firing_for: duration.optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .refine((r) => (r.alert === undefined) !== (r.record === undefined), { message: 'a rule needs exactly one of alert or record' })
  .refine((r) => (r.expr === undefined) !== (r.logs === undefined), { message: 'a rule needs exactly one of expr or logs' })
  .refine((r) => r.record === undefined || r.logs === undefined, { message: 'a recording rule takes expr, not logs' })
  .refine((r) => r.record === undefined || (r.for === undefined && r.annotations === undefined && r.keep_firing_for === undefined), {
    message: 'a recording rule takes no for, keep_firing_for or annotations',
  });

const ruleFileSchema = z.strictObject({
  groups: z.array(
    z.strictObject({
      name: z.string().min(1),
      interval: duration.optional(),
      limit: z.number().int().min(0).optional(),
      rules: z.array(ruleSchema),
    }),
  ),
});

export type RuleFile = z.infer<typeof ruleFileSchema>;

export interface RuleFileIssue {
  file: string;
  line?: number;
  message: string;
}

export function parseRuleFile(file: string, text = readFileSync(file, 'utf8')): { rules?: RuleFile; issues: RuleFileIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length) {
    return { issues: doc.errors.map((e) => ({ file, line: e.linePos?.[0].line, message: e.message.split('\n')[0] ?? e.message })) };
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    // yaml throws while it resolves aliases: an unknown anchor, or more aliases than its budget (a "billion laughs" file).
    return { issues: [{ file, message: err instanceof Error ? err.message : String(err) }] };
  }
  const result = ruleFileSchema.safeParse(value);
  if (!result.success) {
    return {
      issues: result.error.issues.map((issue) => {
        // A missing key has no node of its own: the nearest enclosing one gives the line.
        let line: number | undefined;
        for (let n = issue.path.length; n >= 0 && line === undefined; n--) {
          const node = doc.getIn(issue.path.slice(0, n) as (string | number)[], true) as { range?: [number, number] } | undefined;
          if (node?.range) line = lineCounter.linePos(node.range[0]).line;
        }
        const where = issue.path.join('.');
        return { file, ...(line ? { line } : {}), message: `${where ? where + ': ' : ''}${issue.message}` };
      }),
    };
  }
  const issues: RuleFileIssue[] = [];
  const names = new Set<string>();
  for (const g of result.data.groups) {
    if (names.has(g.name)) issues.push({ file, message: `groupname: "${g.name}" is repeated in the same file` });
    names.add(g.name);
  }
  issues.push(...checkSemantics(file, doc, lineCounter, result.data));
  return { rules: result.data, issues };
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkSemantics(file: string, doc: Document, lc: LineCounter, rules: RuleFile): RuleFileIssue[] {
  const issues: RuleFileIssue[] = [];
  const at = (path: (string | number)[], message: string): void => {
    const node = doc.getIn(path, true) as { range?: [number, number] } | undefined;
    let line = node?.range ? lc.linePos(node.range[0]).line : undefined;
    if (line === undefined) {
      const parent = doc.getIn(path.slice(0, -1), true) as { range?: [number, number] } | undefined;
      line = parent?.range ? lc.linePos(parent.range[0]).line : undefined;
    }
    issues.push({ file, ...(line ? { line } : {}), message: `${path.join('.')}: ${message}` });
  };
  rules.groups.forEach((g, gi) => {
    if (g.interval !== undefined) {
      const ms = parseDurationMs(g.interval);
      if (ms === undefined) at(['groups', gi, 'interval'], `invalid duration "${g.interval}" (units must run from largest to smallest)`);
      else if (ms === 0) at(['groups', gi, 'interval'], 'interval must be greater than 0');
    }
    g.rules.forEach((r, ri) => {
      const base = ['groups', gi, 'rules', ri];
      const name = r.alert ?? r.record ?? '';
      try {
        if (r.expr !== undefined) parseExpr(r.expr);
      } catch (e) {
        if (!(e instanceof PromQLError)) throw e;
        at([...base, 'expr'], `could not parse expression of ${name}: ${e.message}`);
      }
      for (const key of ['for', 'keep_firing_for'] as const) {
        const v = r[key];
        if (v !== undefined && parseDurationMs(v) === undefined) at([...base, key], `invalid duration "${v}" (units must run from largest to smallest)`);
      }
      for (const [k, v] of Object.entries(r.labels ?? {})) {
        if (!LABEL_NAME.test(k) || k.startsWith('__')) at([...base, 'labels', k], `invalid label name "${k}"`);
        // Prometheus expands alert label templates but not recording rule labels.
        if (r.alert !== undefined) {
          const why = checkTemplate(v);
          if (why) at([...base, 'labels', k], `label "${k}" of ${name}: template: ${why}`);
        }
      }
      for (const [k, v] of Object.entries(r.annotations ?? {})) {
        if (!LABEL_NAME.test(k)) at([...base, 'annotations', k], `invalid annotation name "${k}"`);
        const why = checkTemplate(v);
        if (why) at([...base, 'annotations', k], `annotation "${k}" of ${name}: template: ${why}`);
      }
    });
  });
  return issues;
}
