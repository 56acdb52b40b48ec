/**
 * Log rules against the real warehouse (embedded chDB): matching lines counted per label set over
 * a window, compared with a threshold, and turned into a firing alert by the evaluator; and
 * `pharos rules check`'s parser accepting and refusing log rules with file and line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RuleEvaluator } from '../../alerts/evaluator/evaluator.js';
import { compileRuleFile } from '../../alerts/evaluator/rules.js';
import { ManualClock } from '../../alerts/evaluator/test-clock.js';
import { ClickHouseLogCounter } from '../../alerts/logrules/log-counter.js';
import { compileLogQuery, logQuerySchema } from '../../alerts/logrules/log-rule.js';
import type { Alert } from '../../alerts/model.js';
import { parseRuleFile } from '../../alerts/rules/rule-file.js';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { validateConfig } from '../../core/config/load.js';
import { silentLogger } from '../../core/log.js';
import type { LogRecord } from '../../core/model/records.js';
import { OTEL_LOGS_INSERT_SETTINGS, toOtelLogRow } from '../../pipeline/warehouse/log-rows.js';
import { Head } from '../../pipeline/realtime/tsdb/head.js';
import { HeadQuerier } from '../../pipeline/realtime/tsdb/querier.js';

const DB = 'alerts_log_rules';
const dir = mkdtempSync(join(tmpdir(), 'pharos-log-rules-'));
const config = validateConfig({ data_dir: dir, clickhouse: { database: DB } });
const log = silentLogger();
const admin = createClickHouse(config, log, 'admin');
const query = createClickHouse(config, log, 'query');
const NOW = Date.parse('2026-03-02T12:00:00Z');

function line(service: string, host: string, severity: number, body: string, agoMs: number, attributes: Record<string, string> = {}): LogRecord {
  const ns = BigInt(NOW - agoMs) * 1_000_000n;
  return {
    timeUnixNano: ns,
    observedTimeUnixNano: ns,
    severityNumber: severity,
    severityText: severity >= 17 ? 'ERROR' : 'INFO',
    body,
    resource: { 'service.name': service, 'host.name': host },
    attributes,
    traceId: '',
    spanId: '',
    flags: 0,
  };
}

beforeAll(async () => {
  await migrate(admin, { database: DB, logsTtlDays: 3650, log });
  const rows: LogRecord[] = [];
  // checkout on web-1: 12 payment failures in the last 5 minutes, 3 more an hour ago.
  for (let i = 0; i < 12; i++) rows.push(line('checkout', 'web-1', 17, `payment failed: card declined order=${i}`, 10_000 + i * 1000, { 'http.status_code': '502' }));
  for (let i = 0; i < 3; i++) rows.push(line('checkout', 'web-1', 17, 'payment failed: timeout', 3600_000 + i));
  // checkout on web-2: 2 failures; and lines that do not match (other text, lower severity).
  for (let i = 0; i < 2; i++) rows.push(line('checkout', 'web-2', 17, 'payment failed: card declined', 5000 + i, { 'http.status_code': '502' }));
  rows.push(line('checkout', 'web-2', 9, 'payment failed: retried fine', 1000));
  rows.push(line('search', 'web-1', 17, 'index rebuild failed', 1000));
  await admin.insert({ table: `${DB}.otel_logs`, values: rows.map((r) => toOtelLogRow(r, r.timeUnixNano)), format: 'JSONEachRow', clickhouse_settings: { ...OTEL_LOGS_INSERT_SETTINGS } });
});

afterAll(async () => {
  await Promise.all([admin.close(), query.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const q = (over: Record<string, unknown>) => compileLogQuery(logQuerySchema.parse({ match: '"payment failed"', min_severity: 'ERROR', window: '5m', by: ['service', 'host'], condition: '> 0', ...over }));

describe('log rules', () => {
  test('count matching lines per label set over the window, keeping those that meet the condition', async () => {
    const counter = new ClickHouseLogCounter(query, DB);
    const all = await counter.evaluate(q({}), NOW);
    expect(all.sort((a, b) => a.metric.host!.localeCompare(b.metric.host!))).toEqual([
      { metric: { service: 'checkout', host: 'web-1' }, v: 12 },
      { metric: { service: 'checkout', host: 'web-2' }, v: 2 },
    ]);
    expect(await counter.evaluate(q({ condition: '> 10' }), NOW)).toEqual([{ metric: { service: 'checkout', host: 'web-1' }, v: 12 }]);
    expect(await counter.evaluate(q({ function: 'rate', by: [], condition: '>= 0.04' }), NOW)).toEqual([{ metric: {}, v: 14 / 300 }]);
    expect(await counter.evaluate(q({ by: ['attr.http.status_code'], attributes: { 'http.status_code': '502' } }), NOW)).toEqual([{ metric: { http_status_code: '502' }, v: 14 }]);
    // Nothing logged at all in the window: with no `by`, a count of 0 still compares (`< 1` fires).
    expect(await counter.evaluate(q({ match: 'never-logged-token', by: [], condition: '< 1' }), NOW)).toEqual([{ metric: {}, v: 0 }]);
  });

  test('a log rule in a rule file fires through the evaluator, with its labels and annotations', async () => {
    const text = `groups:
  - name: app-logs
    interval: 30s
    rules:
      - alert: PaymentFailures
        logs:
          match: '"payment failed"'
          min_severity: ERROR
          window: 5m
          by: [service, host]
          condition: '> 10'
        labels: { severity: page }
        annotations: { summary: "{{ $labels.service }} on {{ $labels.host }}: {{ $value }} failed payments in 5m" }
`;
    const parsed = parseRuleFile('app-logs.yaml', text);
    expect(parsed.issues).toEqual([]);
    const clock = new ManualClock(NOW);
    const sent: Alert[] = [];
    const ev = new RuleEvaluator({
      groups: compileRuleFile('app-logs.yaml', parsed.rules!),
      querier: new HeadQuerier(new Head({ windowMs: 3600_000 })),
      sink: { put: async (a) => void sent.push(...a) },
      clock,
      logCounter: new ClickHouseLogCounter(query, DB),
    });
    await ev.start();
    clock.advance(30_000);
    await ev.idle();
    expect(ev.alerts().map((a) => [a.rule, a.alert.state, a.alert.labels.host])).toEqual([['PaymentFailures', 'firing', 'web-1']]);
    expect(sent[0]).toMatchObject({ labels: { alertname: 'PaymentFailures', service: 'checkout', host: 'web-1', severity: 'page' }, annotations: { summary: 'checkout on web-1: 12 failed payments in 5m' } });
    expect(ev.groups()[0]!.rules[0]!.lastError).toBeUndefined();
    await ev.stop();
  });

  test('rules check refuses a malformed log rule with file and line', () => {
    const text = `groups:
  - name: bad
    rules:
      - alert: NoCondition
        logs:
          match: boom
          window: 5m
          by: [pod]
      - alert: Both
        expr: up == 0
        logs: { window: 1m, condition: '> 1' }
`;
    const { issues } = parseRuleFile('bad.yaml', text);
    const msgs = issues.map((i) => `${i.file}:${i.line}: ${i.message}`);
    expect(msgs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^bad\.yaml:\d+: groups\.0\.rules\.0\.logs\.condition: /),
        expect.stringMatching(/^bad\.yaml:8: groups\.0\.rules\.0\.logs\.by\.0: expected service, host, severity, attr\.<key> or resource\.<key>/),
        expect.stringMatching(/^bad\.yaml:9: groups\.0\.rules\.1: a rule needs exactly one of expr or logs/),
      ]),
    );
  });
});
