/**
 * Rule files in the Prometheus format (groups → rules). This is the loading and structural
 * validation; evaluation arrives with the alerting issue. Errors carry file and line, as
 * `promtool check rules` reports them.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';

const duration = z.string().regex(/^(\d+(ms|s|m|h|d|w|y))+$/, 'expected a Prometheus duration such as 30s, 5m, 1h');

const ruleSchema = z
  .strictObject({
    alert: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'invalid alert name').optional(),
    record: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'invalid metric name').optional(),
    expr: z.string().min(1, 'expr must not be empty'),
    for: duration.optional(),
    keep_firing_for: duration.optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .refine((r) => (r.alert === undefined) !== (r.record === undefined), { message: 'a rule needs exactly one of alert or record' })
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
  const result = ruleFileSchema.safeParse(doc.toJS());
  if (!result.success) {
    return {
      issues: result.error.issues.map((issue) => {
        const node = doc.getIn(issue.path as (string | number)[], true) as { range?: [number, number] } | undefined;
        const line = node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
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
  return { rules: result.data, issues };
}
