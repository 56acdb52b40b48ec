/**
 * The config of the collector's drop/keep filters and extra attributes, plugged into the main
 * schema (core/config/schema.ts) as `collector.files[].filters`, `collector.files[].attributes`,
 * `collector.filters` and `collector.resource`. Rules are checked whole at load, so a typo in a
 * field or a regex that does not compile stops the process with the key named, never a filter
 * that silently lets everything through.
 *
 * One matcher per rule, and a list of rules ORs them (as Fluent Bit's `grep` lists do): what a
 * rule tests reads off it at a glance, and a `regex` with alternation covers most "or" cases.
 */
import { z } from 'zod';
import { SeverityNumber } from '../../core/model/records.js';

/** The lowest OpenTelemetry severity number of each level word (each level spans four numbers). */
export const FILTER_SEVERITIES = {
  trace: SeverityNumber.TRACE,
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
  fatal: SeverityNumber.FATAL,
} as const;

export type FilterSeverity = keyof typeof FILTER_SEVERITIES;

const severityLevel = z.enum(Object.keys(FILTER_SEVERITIES) as [FilterSeverity, ...FilterSeverity[]]);

/**
 * What a rule reads: the body, the severity text, or one log or resource attribute. The key is
 * everything after the first dot, taken whole: attributes are flat with dotted keys
 * (`attributes.http.method` reads the attribute `http.method`).
 */
export const FILTER_FIELD = /^(body|severity_text|(attributes|resource)\..+)$/;

const MATCHERS = ['regex', 'equals', 'exists', 'min_severity', 'max_severity'] as const;
const SEVERITY_MATCHERS: ReadonlySet<string> = new Set(['min_severity', 'max_severity']);

function compileError(source: string): string | undefined {
  try {
    new RegExp(source);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const filterRule = z
  .strictObject({
    /** The `reason` label of pharos_collector_records_dropped_total when this drop rule drops a record. */
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a snake_case name').optional(),
    /** body, severity_text, attributes.<key> or resource.<key>; not used by min_severity / max_severity. */
    field: z.string().regex(FILTER_FIELD, 'expected body, severity_text, attributes.<key> or resource.<key>').optional(),
    /** A JavaScript regular expression, unanchored: it matches when found anywhere in the value. */
    regex: z
      .string()
      .min(1)
      .refine((r) => compileError(r) === undefined, { error: (i) => `does not compile: ${compileError(String(i.input))}` })
      .optional(),
    /** The whole value equals this text (numbers and booleans compare as their text: `200`, `true`). */
    equals: z.string().optional(),
    /** true: the attribute is present (any value, null too); false: it is absent. */
    exists: z.boolean().optional(),
    /** Records at this level or above (OpenTelemetry severity number); never a record without a level. */
    min_severity: severityLevel.optional(),
    /** Records at this level or below; never a record without a level (severity number 0). */
    max_severity: severityLevel.optional(),
    /** For regex and equals: letters match in either case. */
    ignore_case: z.boolean().default(false),
  })
  .superRefine((r, ctx) => {
    const set = MATCHERS.filter((m) => r[m] !== undefined);
    if (set.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message:
          set.length === 0
            ? `set one matcher: ${MATCHERS.join(', ')}`
            : `set one matcher per rule, not ${set.join(' and ')}: write one rule each (rules of a list OR together)`,
      });
      return;
    }
    const matcher = set[0]!;
    if (SEVERITY_MATCHERS.has(matcher)) {
      if (r.field !== undefined) ctx.addIssue({ code: 'custom', path: ['field'], message: `${matcher} reads the record's severity number: leave out field` });
    } else if (r.field === undefined) {
      ctx.addIssue({ code: 'custom', path: ['field'], message: `${matcher} needs a field: body, severity_text, attributes.<key> or resource.<key>` });
    } else if (matcher === 'exists' && !r.field.includes('.')) {
      ctx.addIssue({ code: 'custom', path: ['exists'], message: `every record has a ${r.field}: exists applies to attributes.<key> or resource.<key>` });
    }
    if (r.ignore_case && matcher !== 'regex' && matcher !== 'equals') {
      ctx.addIssue({ code: 'custom', path: ['ignore_case'], message: 'ignore_case applies to regex and equals only' });
    }
  });

/**
 * A record is dropped when any `drop` rule matches it, or when `keep` has rules and none
 * matches it: drop wins over keep.
 */
export const filterConfigSchema = z
  .strictObject({
    drop: z.array(filterRule).default([]),
    keep: z.array(filterRule).default([]),
  })
  .superRefine((f, ctx) => {
    // Names label the drop counter: two rules sharing one would be counted as one.
    const seen = new Set<string>();
    f.drop.forEach((r, i) => {
      if (r.name === undefined) return;
      if (r.name === 'keep') ctx.addIssue({ code: 'custom', path: ['drop', i, 'name'], message: 'name keep is the reason of records no keep rule matched: choose another' });
      else if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['drop', i, 'name'], message: `name ${r.name} is taken by an earlier drop rule: names label the drop counter` });
      seen.add(r.name);
    });
  });

export type FilterConfig = z.output<typeof filterConfigSchema>;
export type FilterRuleConfig = FilterConfig['drop'][number];
export type FilterConfigInput = z.input<typeof filterConfigSchema>;

/**
 * Text only, as scrape `labels` and `external_labels` are: `tier: 2` is refused with the key
 * named rather than guessed at (quote it: `tier: "2"`).
 */
const attributeValue = z.string();

/** Keys Pharos stamps itself on every record: a configured value would be overwritten, so it is refused. */
const OWN_KEY = /^(pharos\.|log\.file\.)/;

/** `collector.files[].attributes`: log attributes on every record of the input. */
export const inputAttributesSchema = z.record(z.string().min(1), attributeValue).superRefine((attrs, ctx) => {
  for (const key of Object.keys(attrs)) {
    if (OWN_KEY.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: `${key} is set by Pharos on every record (pharos.*, log.file.*): choose another key` });
  }
});

/** Resource keys with a config key of their own. */
const RESOURCE_OWNED: Readonly<Record<string, string>> = { 'service.name': 'collector.files[].service', 'host.name': 'node_name' };

/** `collector.resource`: resource attributes on every log record of every source, unless the record's resource has the key. */
export const collectorResourceSchema = z.record(z.string().min(1), attributeValue).superRefine((attrs, ctx) => {
  for (const key of Object.keys(attrs)) {
    const owner = RESOURCE_OWNED[key];
    if (owner !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} is set by ${owner}` });
  }
});
