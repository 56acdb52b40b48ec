/**
 * `GET /api/alerts/history`: state changes and notification attempts of alerts from
 * `alert_events` (migration 004), newest first.
 *
 * Query: `from`, `to` (see time-expr.ts; default the last 24 h), `alertname`, `fingerprint`,
 * `kind` (`state_change` or `notification`), `limit` (1-1000, default 200).
 * A scoped token (core/http/scope.ts) sees the events of alerts whose `job` and
 * `deployment_environment` labels are in its scope, as it would see their series.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { Router, type Request, type Response } from 'express';
import { PharosError } from '../../../core/errors.js';
import { requireRole, type Principal } from '../../../core/http/auth.js';
import { metricLabelsScopeSql, type LabelScope } from '../../../core/http/scope.js';
import { sendError } from '../../../core/http/service-server.js';
import { formatRfc3339, parseTimeExpr } from '../time-expr.js';
import { single } from './delivery.js';

export interface AlertHistoryEvent {
  /** RFC 3339, milliseconds. */
  at: string;
  fingerprint: string;
  alertname: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  kind: 'state_change' | 'notification';
  state: string;
  previousState: string;
  value: number;
  receiver: string;
  notificationStatus: string;
  error: string;
}

export interface AlertHistoryParams {
  fromMs: number;
  toMs: number;
  alertname?: string | undefined;
  fingerprint?: string | undefined;
  kind?: 'state_change' | 'notification' | undefined;
  limit: number;
  /** Only alerts whose labels are in this scope; absent: every alert. */
  scope?: LabelScope | undefined;
}

export type AlertHistoryReader = (p: AlertHistoryParams) => Promise<AlertHistoryEvent[]>;

interface Row {
  at: string | number;
  Fingerprint: string;
  AlertName: string;
  Labels: Record<string, string>;
  Annotations: Record<string, string>;
  Kind: 'state_change' | 'notification';
  State: string;
  PreviousState: string;
  Value: number | string;
  Receiver: string;
  NotificationStatus: string;
  Error: string;
}

export function clickHouseAlertHistory(client: ClickHouseClient, database: string): AlertHistoryReader {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new PharosError('invalid_config', `invalid database name ${JSON.stringify(database)}`);
  return async (p) => {
    const where = ['Timestamp >= fromUnixTimestamp64Milli(toInt64({fromMs:Int64}))', 'Timestamp < fromUnixTimestamp64Milli(toInt64({toMs:Int64}))'];
    const values: Record<string, string | number | string[]> = { fromMs: p.fromMs, toMs: p.toMs, limit: p.limit };
    if (p.alertname) (where.push('AlertName = {alertname:String}'), (values.alertname = p.alertname));
    if (p.fingerprint) (where.push('Fingerprint = {fingerprint:String}'), (values.fingerprint = p.fingerprint));
    if (p.kind) (where.push('Kind = {kind:String}'), (values.kind = p.kind));
    const scope = metricLabelsScopeSql(p.scope, 'Labels');
    if (scope.sql !== '1') (where.push(scope.sql), Object.assign(values, scope.params));
    const rs = await client.query({
      query: `SELECT toUnixTimestamp64Milli(Timestamp) AS at, Fingerprint, AlertName, Labels, Annotations, Kind, State, PreviousState, Value, Receiver, NotificationStatus, Error
FROM \`${database}\`.alert_events
WHERE ${where.join(' AND ')}
ORDER BY Timestamp DESC
LIMIT {limit:UInt32}
SETTINGS max_execution_time = 10, readonly = 1, output_format_json_quote_64bit_integers = 0, output_format_json_quote_denormals = 1`,
      query_params: values,
      format: 'JSONEachRow',
    });
    return (await rs.json<Row>()).map((r) => ({
      at: new Date(Number(r.at)).toISOString(),
      fingerprint: r.Fingerprint,
      alertname: r.AlertName,
      labels: r.Labels,
      annotations: r.Annotations,
      kind: r.Kind,
      state: r.State,
      previousState: r.PreviousState,
      value: Number(r.Value),
      receiver: r.Receiver,
      notificationStatus: r.NotificationStatus,
      error: r.Error,
    }));
  };
}

export function alertHistoryRoutes(deps: { read: AlertHistoryReader; now?: () => number }): Router {
  const now = deps.now ?? Date.now;
  const router = Router();
  router.get('/api/alerts/history', requireRole('viewer'), async (req: Request, res: Response) => {
    let params: AlertHistoryParams;
    try {
      params = parseAlertHistoryQuery(req.query as Record<string, unknown>, now());
      const scope = (res.locals.principal as Principal | undefined)?.scope;
      if (scope) params.scope = scope;
    } catch (err) {
      if (err instanceof PharosError && err.code === 'bad_request') return sendError(res, 400, 'bad_request', err.message);
      throw err;
    }
    try {
      const events = await deps.read(params);
      res.json({ status: 'success', data: { events, from: new Date(params.fromMs).toISOString(), to: new Date(params.toMs).toISOString() } });
    } catch (err) {
      if (err instanceof PharosError && (err.retryable || err.code === 'clickhouse_unavailable')) return sendError(res, 503, 'unavailable', `alert history is unavailable: ${err.message}`);
      throw err;
    }
  });
  return router;
}

export function parseAlertHistoryQuery(q: Record<string, unknown>, nowMs: number): AlertHistoryParams {
  const fromNs = parseTimeExpr('from', single(q, 'from') ?? 'now-24h', nowMs);
  const toNs = parseTimeExpr('to', single(q, 'to') ?? 'now', nowMs);
  if (fromNs >= toNs) throw new PharosError('bad_request', `invalid "from": it must be before "to" (from ${formatRfc3339(fromNs)}, to ${formatRfc3339(toNs)})`);
  const kind = single(q, 'kind') || undefined;
  if (kind !== undefined && kind !== 'state_change' && kind !== 'notification') throw new PharosError('bad_request', `invalid "kind": ${JSON.stringify(kind)}; use state_change or notification`);
  const limitText = single(q, 'limit');
  const limit = limitText === undefined ? 200 : /^\d{1,4}$/.test(limitText) ? Number(limitText) : NaN;
  if (!(limit >= 1 && limit <= 1000)) throw new PharosError('bad_request', `invalid "limit": ${JSON.stringify(limitText)}; use a whole number from 1 to 1000`);
  return {
    fromMs: Number(fromNs / 1_000_000n),
    // Exclusive end; round up so an event in the last millisecond of `to` is kept.
    toMs: Number((toNs + 999_999n) / 1_000_000n),
    alertname: single(q, 'alertname') || undefined,
    fingerprint: single(q, 'fingerprint') || undefined,
    kind,
    limit,
  };
}
