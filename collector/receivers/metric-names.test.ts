/**
 * The OTLP → Prometheus naming table, as Prometheus 2.x's OTLP receiver names metrics (its
 * normalizeName with suffixes on). Each row is a case its own tests and docs show.
 */
import { describe, expect, it } from 'vitest';
import { decodeMetrics, encodeMetrics, otlpMetricName, sanitizeLabelName } from '../../core/codec/codec.js';

describe('otlpMetricName (Prometheus 2.x OTLP translation, suffixes on)', () => {
  it.each([
    // name, unit, kind, monotonic, Prometheus name
    ['http_requests', '', 'gauge', false, 'http_requests'],
    ['http.server.duration', 's', 'histogram', false, 'http_server_duration_seconds'],
    ['http.server.requests', '{request}', 'sum', true, 'http_server_requests_total'],
    ['http_requests_total', '', 'sum', true, 'http_requests_total'],
    ['requests.total.count', '', 'sum', true, 'requests_count_total'],
    ['bytes_sent', '', 'sum', true, 'bytes_sent_total'],
    ['queue.depth', '', 'sum', false, 'queue_depth'],
    ['system.memory.usage', 'By', 'gauge', false, 'system_memory_usage_bytes'],
    ['bytes.read', 'By', 'sum', true, 'bytes_read_total'],
    ['network.io', 'By/s', 'gauge', false, 'network_io_bytes_per_second'],
    ['cpu.utilization', '1', 'gauge', false, 'cpu_utilization_ratio'],
    ['cpu.utilization.ratio', '1', 'gauge', false, 'cpu_utilization_ratio'],
    ['disk.ops', '1', 'sum', true, 'disk_ops_total'],
    ['latency', 'ms', 'summary', false, 'latency_milliseconds'],
    ['temperature', 'Cel', 'gauge', false, 'temperature_celsius'],
    ['load', '%', 'gauge', false, 'load_percent'],
    ['frobs', 'frob', 'gauge', false, 'frobs_frob'],
    ['5xx.errors', '', 'sum', true, '_5xx_errors_total'],
    ['job:requests:rate5m', '', 'gauge', false, 'job_requests_rate5m'],
    ['a__b--c', '', 'gauge', false, 'a_b_c'],
    ['node_memory_MemTotal_bytes', '', 'gauge', false, 'node_memory_MemTotal_bytes'],
  ] as const)('%s [%s] %s monotonic=%s → %s', (name, unit, kind, monotonic, want) => {
    expect(otlpMetricName(name, unit, kind, monotonic)).toBe(want);
  });

  it('is idempotent on its own output, so a name Pharos re-encodes comes back the same', () => {
    for (const [name, unit, kind, mono] of [
      ['http.server.duration', 's', 'histogram', false],
      ['http.server.requests', '{request}', 'sum', true],
      ['cpu.utilization', '1', 'gauge', false],
    ] as const) {
      const once = otlpMetricName(name, unit, kind, mono);
      // Pharos writes the samples it decoded without a unit: the name alone must hold.
      expect(otlpMetricName(once, '', kind === 'gauge' && unit === '1' ? 'gauge' : kind, mono)).toBe(once);
    }
  });
});

describe('sanitizeLabelName (Prometheus 2.x NormalizeLabel)', () => {
  it.each([
    ['http.method', 'http_method'],
    ['k8s.pod-name', 'k8s_pod_name'],
    ['1st', 'key_1st'],
    ['_private', 'key_private'],
    ['__reserved', '__reserved'],
    ['job', 'job'],
  ])('%s → %s', (name, want) => {
    expect(sanitizeLabelName(name)).toBe(want);
  });
});

describe('names Pharos wrote itself', () => {
  it('come back unchanged: recording-rule colons stay, no `_total` is added to a counter that lacks it', () => {
    const samples = [
      { name: 'job:http_requests:rate5m', labels: { job: 'api' }, timestampMs: 1_700_000_000_000, value: 2, type: 'gauge' as const },
      { name: 'legacy_hits', labels: { job: 'api' }, timestampMs: 1_700_000_000_000, value: 5, type: 'counter' as const },
    ];
    expect(decodeMetrics(encodeMetrics(samples)).map((s) => s.name)).toEqual(['job:http_requests:rate5m', 'legacy_hits']);
  });
});
