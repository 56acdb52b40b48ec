/**
 * Label scope: a token (or the session made from it) limited to some services and/or
 * environments. Pure helpers, one per place data leaves Pharos, so every route enforces the same
 * rule:
 *   - a log row (live tail, in-memory filters): `logRowInScope`;
 *   - a warehouse query over `otel_logs`: `logScopeSql` (a WHERE fragment with its parameters);
 *   - PromQL: `scopeMatchers`, appended to every selector a query evaluates.
 *
 * Fail closed: a row or series that does not say which service or environment it belongs to is
 * outside any scope that restricts that dimension.
 */
import type { LogRow } from '../model/log-search.js';

export interface LabelScope {
  /** Allowed `service.name` values; absent: every service. */
  service?: readonly string[] | undefined;
  /** Allowed `deployment.environment` values; absent: every environment. */
  environment?: readonly string[] | undefined;
}

/** The resource attribute naming a record's environment (OpenTelemetry semantic conventions). */
export const ENVIRONMENT_ATTRIBUTE = 'deployment.environment';
/** Prometheus label carrying the service: OTLP's `service.name` becomes `job` (core/codec). */
export const SERVICE_LABEL = 'job';
/** Prometheus label carrying the environment when `deployment.environment` is promoted. */
export const ENVIRONMENT_LABEL = 'deployment_environment';

/** True when the scope restricts nothing (no scope, or an empty one). */
export function isUnrestricted(scope: LabelScope | undefined): boolean {
  return !scope || (scope.service === undefined && scope.environment === undefined);
}

export function serviceInScope(scope: LabelScope | undefined, service: string | undefined): boolean {
  if (!scope?.service) return true;
  return service !== undefined && scope.service.includes(service);
}

export function environmentInScope(scope: LabelScope | undefined, environment: string | undefined): boolean {
  if (!scope?.environment) return true;
  return environment !== undefined && scope.environment.includes(environment);
}

/** Whether a log row may be shown to a principal of this scope. */
export function logRowInScope(scope: LabelScope | undefined, row: Pick<LogRow, 'serviceName' | 'resourceAttributes'>): boolean {
  return serviceInScope(scope, row.serviceName) && environmentInScope(scope, row.resourceAttributes[ENVIRONMENT_ATTRIBUTE]);
}

/**
 * A WHERE fragment for `otel_logs` (the OpenTelemetry ClickHouse exporter's columns) and its
 * query parameters, to AND with the query's own conditions. Values travel as parameters, never
 * in the SQL text. `prefix` keeps the parameter names apart from the query's own.
 */
export function logScopeSql(scope: LabelScope | undefined, prefix = 'scope'): { sql: string; params: Record<string, string[]> } {
  const parts: string[] = [];
  const params: Record<string, string[]> = {};
  if (scope?.service) {
    params[`${prefix}_service`] = [...scope.service];
    parts.push(`ServiceName IN {${prefix}_service:Array(String)}`);
  }
  if (scope?.environment) {
    params[`${prefix}_environment`] = [...scope.environment];
    parts.push(`ResourceAttributes['${ENVIRONMENT_ATTRIBUTE}'] IN {${prefix}_environment:Array(String)}`);
  }
  return { sql: parts.length ? parts.join(' AND ') : '1', params };
}

/** A Prometheus label matcher (the shape of pipeline/realtime/storage.ts's LabelMatcher). */
export interface ScopeMatcher {
  name: string;
  type: '=' | '=~';
  value: string;
}

/**
 * Matchers that confine a PromQL selector to the scope. Appended to a selector's own matchers
 * they only ever narrow it: `{job="b"}` plus `{job=~"a"}` matches nothing.
 */
export function scopeMatchers(scope: LabelScope | undefined): ScopeMatcher[] {
  const out: ScopeMatcher[] = [];
  if (scope?.service) out.push(anyOf(SERVICE_LABEL, scope.service));
  if (scope?.environment) out.push(anyOf(ENVIRONMENT_LABEL, scope.environment));
  return out;
}

function anyOf(name: string, values: readonly string[]): ScopeMatcher {
  if (values.length === 1) return { name, type: '=', value: values[0]! };
  // PromQL regexes are anchored; each value is matched literally.
  return { name, type: '=~', value: values.map(escapeRegex).join('|') };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One line for error messages: "services a, b; environments prod". */
export function describeScope(scope: LabelScope | undefined): string {
  if (isUnrestricted(scope)) return 'everything';
  const parts: string[] = [];
  if (scope?.service) parts.push(`services ${scope.service.join(', ')}`);
  if (scope?.environment) parts.push(`environments ${scope.environment.join(', ')}`);
  return parts.join('; ');
}

/**
 * Whether a metric series or an alert (Prometheus labels) may be shown to this scope: its `job`
 * names the service, its `deployment_environment` the environment, as `scopeMatchers` reads them.
 */
export function metricLabelsInScope(scope: LabelScope | undefined, labels: Readonly<Record<string, string>>): boolean {
  return serviceInScope(scope, labels[SERVICE_LABEL]) && environmentInScope(scope, labels[ENVIRONMENT_LABEL]);
}

/**
 * A WHERE fragment over a `Map(String, String)` column of Prometheus labels (alert_events'
 * `Labels`), the SQL twin of `metricLabelsInScope`. `column` is SQL text: pass a constant.
 */
export function metricLabelsScopeSql(scope: LabelScope | undefined, column: string, prefix = 'scope'): { sql: string; params: Record<string, string[]> } {
  const parts: string[] = [];
  const params: Record<string, string[]> = {};
  if (scope?.service) {
    params[`${prefix}_service`] = [...scope.service];
    parts.push(`${column}['${SERVICE_LABEL}'] IN {${prefix}_service:Array(String)}`);
  }
  if (scope?.environment) {
    params[`${prefix}_environment`] = [...scope.environment];
    parts.push(`${column}['${ENVIRONMENT_LABEL}'] IN {${prefix}_environment:Array(String)}`);
  }
  return { sql: parts.length ? parts.join(' AND ') : '1', params };
}

/** A silence matcher as Alertmanager's API gives it, reduced to what pinning needs. */
export interface PinMatcher {
  name: string;
  type: '=' | '!=' | '=~' | '!~';
  value: string;
}

/**
 * Whether silences (or other matcher sets acting on alerts) stay inside the scope: for each
 * dimension the scope restricts, one equality matcher pins a value of the scope. Anything looser
 * (a regex, a missing matcher) could reach alerts of other teams, so it is refused.
 */
export function matchersPinnedToScope(scope: LabelScope | undefined, matchers: readonly PinMatcher[]): boolean {
  const pins = (label: string, allowed: readonly string[] | undefined): boolean =>
    !allowed || matchers.some((m) => m.name === label && m.type === '=' && allowed.includes(m.value));
  return pins(SERVICE_LABEL, scope?.service) && pins(ENVIRONMENT_LABEL, scope?.environment);
}
