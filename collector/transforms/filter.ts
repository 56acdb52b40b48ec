/**
 * Drop and keep filters: which log records the collector does not ship. A record is dropped
 * when any `drop` rule matches it, or when there are `keep` rules and none matches it, so an
 * explicit drop wins over a keep (Vector's `filter` and Fluent Bit's `grep` Exclude/Regex, in
 * one list each).
 *
 * Everything a rule needs is built once at compile: field accessors, regexes (case folding
 * included, so `equals` with `ignore_case` lowers no strings), reasons. Deciding on a record that
 * no rule drops allocates nothing, except the text of a non-string attribute that a regex (or an
 * equal number) reads. Attributes are looked up as own properties only: a rule on `attributes.constructor`
 * must not find Object's.
 */
import type { AttributeValue, Attributes, LogRecord } from '../../core/model/records.js';
import { countDrop, type DropEvents } from './drop-events.js';
import { FILTER_SEVERITIES, type FilterConfig, type FilterRuleConfig } from './filter-config.js';

export interface LogFilter {
  /** Why the record is dropped (the drop rule's name or `drop[i]`, or `keep`), or undefined when it stays. */
  decide(record: LogRecord): string | undefined;
}

export interface CompileFilterOptions {
  /**
   * Put before the reasons of unnamed rules and of `keep`, so the counter tells the collector's
   * own rules (`collector.drop[0]`) from an input's (`drop[0]`). Names are used as written.
   */
  reasonPrefix?: string;
}

type Matcher = (r: LogRecord) => boolean;
type FieldValue = (r: LogRecord) => AttributeValue | undefined;

/** Undefined when nothing is configured: callers skip the pass. */
export function compileFilter(config: FilterConfig | undefined, opts: CompileFilterOptions = {}): LogFilter | undefined {
  if (config === undefined || (config.drop.length === 0 && config.keep.length === 0)) return undefined;
  const prefix = opts.reasonPrefix ?? '';
  const drops = config.drop.map(compileRule);
  const dropReasons = config.drop.map((rule, i) => rule.name ?? `${prefix}drop[${i}]`);
  const keeps = config.keep.map(compileRule);
  const keepReason = `${prefix}keep`;
  return {
    decide(record) {
      for (let i = 0; i < drops.length; i++) if (drops[i]!(record)) return dropReasons[i];
      if (keeps.length === 0) return undefined;
      for (let i = 0; i < keeps.length; i++) if (keeps[i]!(record)) return undefined;
      return keepReason;
    },
  };
}

/**
 * Removes the records `filter` drops from `records`, in place (order kept), counting each under
 * its `pharos.source` and reason; returns how many were dropped. Runs before sequence numbers
 * are stamped: a dropped record never takes a `pharos.seq`, so it is no gap in the delivery report.
 */
export function filterRecords(records: LogRecord[], filter: LogFilter, events?: DropEvents): number {
  let kept = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const reason = filter.decide(r);
    if (reason === undefined) {
      if (kept !== i) records[kept] = r;
      kept++;
    } else if (events) {
      countDrop(events, r, reason);
    }
  }
  const dropped = records.length - kept;
  if (dropped > 0) records.length = kept;
  return dropped;
}

function compileRule(rule: FilterRuleConfig): Matcher {
  if (rule.min_severity !== undefined) {
    const min = FILTER_SEVERITIES[rule.min_severity];
    return (r) => r.severityNumber >= min;
  }
  if (rule.max_severity !== undefined) {
    // A level spans four numbers (DEBUG..DEBUG4 is 5..8); 0 is "no level", which no severity rule claims.
    const max = FILTER_SEVERITIES[rule.max_severity] + 3;
    return (r) => r.severityNumber >= 1 && r.severityNumber <= max;
  }
  // The schema guarantees a field for every other matcher.
  const field = rule.field!;
  if (rule.exists !== undefined) {
    const has = presence(field);
    const want = rule.exists;
    return (r) => has(r) === want;
  }
  const value = accessor(field);
  let re: RegExp;
  if (rule.regex !== undefined) re = new RegExp(rule.regex, rule.ignore_case ? 'i' : '');
  else if (rule.ignore_case) re = new RegExp(`^${escapeRegex(rule.equals!)}$`, 'i');
  else {
    const expected = rule.equals!;
    // Compared as numbers first: a status code that differs costs no String() of it.
    const expectedNumber = Number(expected);
    return (r) => {
      const v = value(r);
      if (typeof v === 'string') return v === expected;
      if (typeof v === 'number') return v === expectedNumber && String(v) === expected;
      if (typeof v === 'boolean') return expected === (v ? 'true' : 'false');
      return text(v) === expected;
    };
  }
  return (r) => {
    const v = value(r);
    if (typeof v === 'string') return re.test(v);
    const t = text(v);
    return t !== undefined && re.test(t);
  };
}

/** Reads the field a rule names; undefined when the record lacks it. */
function accessor(field: string): FieldValue {
  if (field === 'body') return (r) => r.body;
  if (field === 'severity_text') return (r) => r.severityText;
  const { scope, key } = splitField(field);
  return scope === 'attributes' ? (r) => own(r.attributes, key) : (r) => own(r.resource, key);
}

function presence(field: string): Matcher {
  const { scope, key } = splitField(field);
  return scope === 'attributes' ? (r) => Object.hasOwn(r.attributes, key) : (r) => Object.hasOwn(r.resource, key);
}

function splitField(field: string): { scope: 'attributes' | 'resource'; key: string } {
  const dot = field.indexOf('.');
  const scope = field.slice(0, dot);
  if (scope !== 'attributes' && scope !== 'resource') throw new Error(`filter field ${field}: expected body, severity_text, attributes.<key> or resource.<key>`);
  return { scope, key: field.slice(dot + 1) };
}

function own(attrs: Attributes, key: string): AttributeValue | undefined {
  return Object.hasOwn(attrs, key) ? attrs[key] : undefined;
}

/**
 * The text a rule compares: numbers and booleans as written (`200`, `true`); arrays and maps as
 * JSON. A null value has no text, so only `exists` sees it.
 */
function text(v: AttributeValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
