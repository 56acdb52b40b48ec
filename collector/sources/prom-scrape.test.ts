import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrapeOnce, type ScrapeTarget } from './prom-scrape.js';
import { parseExposition } from './prom-text.js';

const EXPOSITION = `# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000
# A comment
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9
# TYPE temperature gauge
temperature{room=""} -Inf
temperature{room="b"} NaN
something_weird{problem="division by zero"} +Inf -3982045
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
# TYPE jobs counter
jobs_total 5
bad line here
`;

describe('parseExposition', () => {
  it('reads every sample type, escapes, special values and timestamps as Prometheus does', () => {
    const { samples, errors } = parseExposition(EXPOSITION, 1_000);
    expect(errors).toEqual(['line 22: value "line" of bad is not a number']);
    const byKey = (name: string) => samples.filter((s) => s.name === name);
    expect(byKey('http_requests_total')).toEqual([
      { name: 'http_requests_total', labels: { method: 'post', code: '200' }, value: 1027, timestampMs: 1395066363000, type: 'counter' },
      { name: 'http_requests_total', labels: { method: 'post', code: '400' }, value: 3, timestampMs: 1395066363000, type: 'counter' },
    ]);
    expect(byKey('msdos_file_access_time_seconds')[0]).toMatchObject({ labels: { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' }, value: 1458255915, type: 'unknown', timestampMs: 1000 });
    const temps = byKey('temperature');
    expect(temps[0]).toMatchObject({ labels: {}, value: -Infinity, type: 'gauge' });
    expect(Number.isNaN(temps[1]!.value)).toBe(true);
    expect(byKey('something_weird')[0]).toMatchObject({ value: Infinity, timestampMs: -3982045 });
    expect(samples.filter((s) => s.name.startsWith('http_request_duration')).map((s) => [s.name, s.type, s.labels.le])).toEqual([
      ['http_request_duration_seconds_bucket', 'histogram_bucket', '0.05'],
      ['http_request_duration_seconds_bucket', 'histogram_bucket', '+Inf'],
      ['http_request_duration_seconds_sum', 'histogram_sum', undefined],
      ['http_request_duration_seconds_count', 'histogram_count', undefined],
    ]);
    expect(samples.filter((s) => s.name.startsWith('rpc_')).map((s) => s.type)).toEqual(['summary', 'summary_sum', 'summary_count']);
    expect(byKey('jobs_total')[0]!.type).toBe('counter');
  });
});

describe('scrapeOnce', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/metrics') res.end('# TYPE up_things gauge\nup_things{job="theirs"} 3\n');
      else if (req.url === '/slow') setTimeout(() => res.end('x 1\n'), 2_000).unref();
      else res.writeHead(500).end('boom');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  const target = (path: string, timeout_ms = 1000): ScrapeTarget => ({ url: `${base}${path}`, job: 'app', interval_ms: 5000, timeout_ms, labels: { env: 'test' } });

  it('labels samples with job and instance, keeps the target’s own job as exported_job, adds up and scrape series', async () => {
    const r = await scrapeOnce(target('/metrics'));
    const instance = base.slice('http://'.length);
    expect(r.up).toBe(true);
    expect(r.samples.map((s) => [s.name, s.labels, s.value])).toEqual([
      ['up_things', { exported_job: 'theirs', env: 'test', job: 'app', instance }, 3],
      ['up', { env: 'test', job: 'app', instance }, 1],
      ['scrape_duration_seconds', { env: 'test', job: 'app', instance }, r.samples[2]!.value],
      ['scrape_samples_scraped', { env: 'test', job: 'app', instance }, 1],
    ]);
  });

  it('reports up 0 with the reason on an HTTP error and on a timeout', async () => {
    const failed = await scrapeOnce(target('/broken'));
    expect(failed.up).toBe(false);
    expect(failed.error).toMatch(/HTTP 500/);
    expect(failed.samples.find((s) => s.name === 'up')!.value).toBe(0);
    const slow = await scrapeOnce(target('/slow', 200));
    expect(slow.error).toBe('scrape timed out after 200 ms');
    expect(slow.samples.find((s) => s.name === 'up')!.value).toBe(0);
  });
});
