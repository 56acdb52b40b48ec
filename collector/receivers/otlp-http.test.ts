/**
 * The OTLP/HTTP and JSON-lines receivers' answers, over real HTTP on loopback through the
 * service server and its auth layer; the log and metric paths behind them are recorders (the
 * end-to-end path through Kafka is test/integration/otlp-http-interop.test.ts).
 */
import { gzipSync } from 'node:zlib';
import Long from 'long';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opentelemetry } from '../../core/codec/otlp/generated/otlp.js';
import { validateConfig } from '../../core/config/load.js';
import { authMiddleware, Authenticator } from '../../core/http/auth.js';
import { startServiceServer, type ServiceServer } from '../../core/http/service-server.js';
import { silentLogger } from '../../core/log.js';
import type { LogRecord, MetricSample } from '../../core/model/records.js';
import { createRegistry, type Registry } from '../../core/telemetry/registry.js';
import { componentTelemetry } from '../events.js';
import { CardinalityBudget } from '../transforms/cardinality.js';
import type { Backpressure } from './backpressure.js';
import { rejectEvents } from './events.js';
import { LogIntake } from './log-intake.js';
import { MetricIntake } from './metric-intake.js';
import { ndjsonHandler } from './ndjson-http.js';
import { otlpHttpHandler } from './otlp-http.js';
import { decodeExportResponse, decodeStatus } from './otlp-messages.js';
import otlp = opentelemetry.proto;

const log = silentLogger();
const TOKEN = 'push-token-0123456789';

async function counterValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

function logsRequest(bodies: string[], extra: Partial<otlp.logs.v1.LogRecord.$Properties> = {}): Uint8Array {
  return otlp.collector.logs.v1.ExportLogsServiceRequest.encode({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }, { key: 'host.name', value: { stringValue: 'h1' } }] },
        scopeLogs: [{ logRecords: bodies.map((b) => ({ body: { stringValue: b }, timeUnixNano: Long.fromString('1700000000000000000', true), ...extra })) }],
      },
    ],
  }).finish();
}

describe('OTLP/HTTP receiver', () => {
  const registry = createRegistry();
  const received: LogRecord[] = [];
  const samples: MetricSample[] = [];
  let pressure: ReturnType<Backpressure>;
  let refuseSink = false;
  let server: ServiceServer;
  let base = '';
  const auth = new Authenticator(validateConfig({ auth: { tokens: [{ name: 'pusher', role: 'viewer', token: TOKEN }] } }).auth);
  const headers = (h: Record<string, string>) => ({ Authorization: `Bearer ${TOKEN}`, ...h });

  beforeAll(async () => {
    const events = rejectEvents(registry, log);
    const submit = async (records: LogRecord[], _bytes: number, signal: AbortSignal) => {
      if (refuseSink) {
        await new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
      }
      received.push(...records);
      return { acked: Promise.resolve() };
    };
    const limits = { maxBodyBytes: 64 * 1024, maxLineBytes: 1024, ackTimeoutMs: 300, retryAfterSeconds: 7 };
    const metrics = new MetricIntake({ enqueue: (s) => samples.push(...s), healthy: () => true }, new CardinalityBudget({ maxSeriesPerMetric: 3, registry }), { maxLabels: 4, maxLabelValueBytes: 32 }, events);
    const common = { limits, logs: new LogIntake('otlp_http', submit), metrics, backpressure: () => pressure, events };
    server = await startServiceServer({
      name: 'collector-test',
      listen: '127.0.0.1:0',
      registry,
      auth,
      log,
      ready: () => true,
      mountPublic: (app) => {
        app.post('/v1/logs', authMiddleware(auth), otlpHttpHandler('logs', common));
        app.post('/v1/metrics', authMiddleware(auth), otlpHttpHandler('metrics', common));
        app.post('/v1/ndjson', authMiddleware(auth), ndjsonHandler({ ...common, logs: new LogIntake('ndjson_http', submit), nodeName: 'node-a', registry, telemetry: componentTelemetry(registry, log, { kind: 'source', id: 'ndjson_http', type: 'ndjson' }) }));
      },
    });
    base = `http://${server.address}`;
  });
  afterAll(() => server.close());

  const post = (path: string, body: Uint8Array | string, h: Record<string, string>) => fetch(`${base}${path}`, { method: 'POST', headers: headers(h), body: typeof body === 'string' ? body : Buffer.from(body) });

  it('refuses a request without a valid token (the one auth layer)', async () => {
    const res = await fetch(`${base}/v1/logs`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: Buffer.from(logsRequest(['x'])) });
    expect(res.status).toBe(401);
  });

  it('takes protobuf, gzip or not, stamps source and per-host seq, and answers an empty response', async () => {
    received.length = 0;
    const r1 = await post('/v1/logs', logsRequest(['a', 'b']), { 'Content-Type': 'application/x-protobuf' });
    const r2 = await post('/v1/logs', gzipSync(logsRequest(['c'])), { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' });
    expect([r1.status, r2.status]).toEqual([200, 200]);
    expect(decodeExportResponse('logs', new Uint8Array(await r2.arrayBuffer()))).toEqual({ rejected: 0, errorMessage: '' });
    expect(received.map((r) => [r.body, r.attributes['pharos.seq']])).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
    ]);
    expect(received[0]!.attributes['pharos.source']).toMatch(/^otlp_http#/);
    expect(received[0]!.observedTimeUnixNano).toBeGreaterThan(0n);
  });

  it('reads OTLP/JSON: hex ids, int64 as strings, enum names', async () => {
    received.length = 0;
    const body = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'js' } }] },
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '1700000000000000001',
                  severityNumber: 'SEVERITY_NUMBER_WARN',
                  body: { stringValue: 'hello' },
                  traceId: '5b8efff798038103d269b633813fc60c',
                  spanId: 'eee19b7ec3c1b174',
                  attributes: [{ key: 'n', value: { intValue: '9007199254740993' } }, { key: 'd', value: { doubleValue: 1.5 } }],
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await post('/v1/logs', JSON.stringify(body), { 'Content-Type': 'application/json' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({});
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ body: 'hello', severityNumber: 13, traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', timeUnixNano: 1700000000000000001n });
    expect(received[0]!.attributes).toMatchObject({ n: 9007199254740993n, d: 1.5 });
  });

  it('answers 400, 413 (also for a gzip bomb) and 415 with a google.rpc.Status in the request encoding', async () => {
    const bad = await post('/v1/logs', Buffer.from([0x0a, 0xff, 0xff, 0xff]), { 'Content-Type': 'application/x-protobuf' });
    expect(bad.status).toBe(400);
    expect(decodeStatus(new Uint8Array(await bad.arrayBuffer()))).toMatchObject({ code: 3 });
    const badJson = await post('/v1/logs', '{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "xyz"}]}]}]}', { 'Content-Type': 'application/json' });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { message: string }).message).toMatch(/traceId is not a hex id/);
    const big = await post('/v1/logs', Buffer.alloc(70 * 1024, 1), { 'Content-Type': 'application/x-protobuf' });
    expect(big.status).toBe(413);
    // 200 KB of zeros compress to a few hundred bytes: the limit holds after decompression.
    const bomb = gzipSync(Buffer.alloc(200 * 1024));
    expect(bomb.length).toBeLessThan(1024);
    const bombed = await post('/v1/logs', bomb, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' });
    expect(bombed.status).toBe(413);
    expect(decodeStatus(new Uint8Array(await bombed.arrayBuffer())).message).toMatch(/decompresses to more than max_body_bytes/);
    const unsupported = await post('/v1/logs', 'hello', { 'Content-Type': 'text/plain' });
    expect(unsupported.status).toBe(415);
    expect(await counterValue(registry, 'pharos_collector_rejected_total', { reason: 'body_too_large' })).toBe(2);
    expect(await counterValue(registry, 'pharos_collector_rejected_total', { reason: 'unsupported_media_type' })).toBe(1);
  });

  it('refuses a record over max_line_bytes with a partial success, and keeps the others', async () => {
    received.length = 0;
    const res = await post('/v1/logs', logsRequest(['ok', 'x'.repeat(2000), 'fine']), { 'Content-Type': 'application/x-protobuf' });
    expect(res.status).toBe(200);
    expect(decodeExportResponse('logs', new Uint8Array(await res.arrayBuffer()))).toEqual({ rejected: 1, errorMessage: '1 log record(s) with a body over max_line_bytes (1024 bytes) refused' });
    expect(received.map((r) => r.body)).toEqual(['ok', 'fine']);
  });

  it('answers 503 with Retry-After while the collector is full, and when the log path does not accept in time', async () => {
    pressure = { reason: 'spool full', retryAfterSeconds: 11 };
    const full = await post('/v1/logs', logsRequest(['a']), { 'Content-Type': 'application/x-protobuf' });
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('11');
    expect(decodeStatus(new Uint8Array(await full.arrayBuffer()))).toMatchObject({ code: 14 });
    pressure = undefined;
    refuseSink = true;
    received.length = 0;
    const slow = await post('/v1/logs', logsRequest(['a']), { 'Content-Type': 'application/x-protobuf' });
    expect(slow.status).toBe(503);
    expect(slow.headers.get('retry-after')).toBe('7');
    refuseSink = false;
    // The refused batch gave its seqs back: the next record continues the stream without a gap.
    const before = received.length;
    await post('/v1/logs', logsRequest(['b']), { 'Content-Type': 'application/x-protobuf' });
    const seqs = received.slice(before).map((r) => r.attributes['pharos.seq']);
    expect(seqs).toHaveLength(1);
    expect(typeof seqs[0]).toBe('number');
  });

  it('metrics: label limits and the series budget refuse samples with a partial success naming the driving label', async () => {
    samples.length = 0;
    const point = (attrs: Record<string, string>) => ({ timeUnixNano: Long.fromString('1700000000000000000', true), asDouble: 1, attributes: Object.entries(attrs).map(([key, v]) => ({ key, value: { stringValue: v } })) });
    const body = otlp.collector.metrics.v1.ExportMetricsServiceRequest.encode({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                { name: 'g', gauge: { dataPoints: [point({ a: '1', b: '2', c: '3', d: '4', e: '5' }), point({ long: 'v'.repeat(40) })] } },
                { name: 'per_user', gauge: { dataPoints: ['u1', 'u2', 'u3', 'u4', 'u5'].map((u) => point({ user: u, region: 'eu' })) } },
              ],
            },
          ],
        },
      ],
    }).finish();
    const res = await post('/v1/metrics', body, { 'Content-Type': 'application/x-protobuf' });
    expect(res.status).toBe(200);
    const answer = decodeExportResponse('metrics', new Uint8Array(await res.arrayBuffer()));
    expect(answer.rejected).toBe(4);
    expect(answer.errorMessage).toContain('more than max_labels (4)');
    expect(answer.errorMessage).toContain('max_label_value_bytes (32)');
    expect(answer.errorMessage).toContain('per_user (label driving growth: user)');
    expect(samples.map((s) => s.labels.user)).toEqual(['u1', 'u2', 'u3']);
    expect(await counterValue(registry, 'pharos_collector_series_rejected_total', { metric: 'per_user', label: 'user' })).toBe(2);
    expect(await counterValue(registry, 'pharos_collector_rejected_total', { reason: 'series_limit' })).toBe(2);
  });

  it('JSON lines: parsed like a json file input, bad lines kept tagged, overlong lines refused and listed', async () => {
    received.length = 0;
    const lines = ['{"level":"error","msg":"disk full","time":"2026-01-02T03:04:05Z","disk":"sda"}', 'not json', '{"msg":"' + 'y'.repeat(2000) + '"}', '', '{"message":"second"}'].join('\n');
    const res = await post('/v1/ndjson?service=web', lines, { 'Content-Type': 'application/x-ndjson' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 3, rejected: 1, errors: [{ line: 3, error: 'line of 2010 bytes exceeds max_line_bytes (1024)' }] });
    expect(received.map((r) => [r.body, r.severityText, r.resource['service.name'], r.resource['host.name']])).toEqual([
      ['disk full', 'ERROR', 'web', 'node-a'],
      ['not json', '', 'web', 'node-a'],
      ['second', '', 'web', 'node-a'],
    ]);
    expect(received[0]!.timeUnixNano).toBe(BigInt(Date.parse('2026-01-02T03:04:05Z')) * 1_000_000n);
    expect(received[0]!.attributes.disk).toBe('sda');
    expect(received[1]!.attributes['log.parse_error']).toBe('not a JSON object');
    expect(received[0]!.attributes['pharos.source']).toMatch(/^ndjson_http#/);
  });
});
