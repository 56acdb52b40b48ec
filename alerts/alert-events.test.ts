import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createClickHouse } from '../core/clickhouse/client.js';
import { migrate } from '../core/clickhouse/migrate.js';
import { validateConfig } from '../core/config/load.js';
import { silentLogger } from '../core/log.js';
import { AlertEventsWriter } from './alert-events.js';

describe('AlertEventsWriter', () => {
  const log = silentLogger();
  const config = validateConfig({ data_dir: mkdtempSync(join(tmpdir(), 'pharos-alert-events-')), clickhouse: { database: 'ae' } });
  const admin = createClickHouse(config, log, 'admin');
  const client = createClickHouse(config, log, 'ingest');
  afterAll(async () => {
    await Promise.all([admin.close(), client.close()]);
  });

  test('writes state changes and notification attempts to alert_events, one row per alert', async () => {
    await migrate(admin, { database: 'ae', logsTtlDays: 30, log });
    const writer = new AlertEventsWriter(client, 'ae', log, 60_000);
    const labels = { alertname: 'DiskFull', instance: 'h1' };
    writer.stateChange({ atMs: 1_763_892_000_123, group: 'host', rule: 'DiskFull', fingerprint: 'abc', labels, annotations: { summary: 'disk' }, from: 'pending', to: 'firing', value: 0.93, activeAt: 1_763_891_000_000 });
    writer.notification({
      atMs: 1_763_892_001_000,
      receiver: 'oncall/webhook[0]',
      groupKey: '{}:{}',
      status: 'failed',
      error: 'HTTP 503',
      alerts: [{ labels, annotations: {}, startsAt: 1_763_891_000_000, endsAt: 1_763_899_000_000, generatorURL: '', fingerprint: 'abc' }],
    });
    await writer.stop();
    const r = await admin.query({
      query: "SELECT toUnixTimestamp64Milli(Timestamp) AS t, Kind, AlertName, State, PreviousState, Value, Receiver, NotificationStatus, Error, Labels['instance'] AS instance FROM ae.alert_events ORDER BY Timestamp",
      format: 'JSONEachRow',
    });
    const rows = (await r.json()) as Array<Record<string, unknown>>;
    expect(rows).toEqual([
      { t: 1763892000123, Kind: 'state_change', AlertName: 'DiskFull', State: 'firing', PreviousState: 'pending', Value: 0.93, Receiver: '', NotificationStatus: '', Error: '', instance: 'h1' },
      { t: 1763892001000, Kind: 'notification', AlertName: 'DiskFull', State: 'firing', PreviousState: '', Value: 0, Receiver: 'oncall/webhook[0]', NotificationStatus: 'failed', Error: 'HTTP 503', instance: 'h1' },
    ]);
  });
});
