/**
 * The real-time store's peers on this machine (Debian's `victoria-metrics` and `prometheus`),
 * loaded with the same samples in the same run, so the bench prints Pharos's query latency as a
 * ratio of theirs instead of quoting figures from elsewhere. Loopback only; each peer is a child
 * process stopped at the end. A peer that is not installed is skipped with a note saying how to
 * install it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetricSample } from '../../core/model/records.js';
import { freePort } from '../../core/kafka/local-broker.js';

export interface PeerTsdb {
  name: string;
  /** Runs a range query over HTTP; resolves with the number of series returned. */
  queryRange(expr: string, startMs: number, endMs: number, stepMs: number): Promise<number>;
  stop(): Promise<void>;
}

function installed(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
}

function labelText(s: MetricSample): string {
  const parts = Object.entries(s.labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  return `${s.name}{${parts.join(',')}}`;
}

async function waitHttp(url: string, proc: ChildProcess, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}`);
    if ((await fetch(url).catch(() => undefined))?.ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not answer ${url} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function rangeQuery(base: string, expr: string, startMs: number, endMs: number, stepMs: number, extra = ''): Promise<number> {
  const url = `${base}/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${startMs / 1000}&end=${endMs / 1000}&step=${stepMs / 1000}${extra}`;
  const res = await fetch(url);
  const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? res.status}`);
  return body.data!.result.length;
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return async () => {
    if (proc.exitCode !== null) return;
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  };
}

/**
 * VictoriaMetrics with the samples imported through its Prometheus text import. `cached` keeps
 * its rollup result cache on (as deployed); without it every query is computed afresh (`nocache=1`).
 */
export async function startVictoriaMetrics(samples: readonly MetricSample[]): Promise<{ peer: PeerTsdb; uncached: PeerTsdb } | string> {
  if (!installed('victoria-metrics')) return 'victoria-metrics is not installed (apt-get install victoria-metrics): skipped';
  const dir = mkdtempSync(join(tmpdir(), 'pharos-bench-vm-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // Old samples stay queryable: the bench's data is from 2023 and the default retention is a month.
  const proc = spawn('victoria-metrics', [`-storageDataPath=${dir}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=100y', '-search.latencyOffset=0s', '-loggerLevel=ERROR'], { stdio: 'ignore' });
  await waitHttp(`${base}/health`, proc, 'victoria-metrics');
  const lines: string[] = [];
  const flush = async () => {
    if (lines.length === 0) return;
    const res = await fetch(`${base}/api/v1/import/prometheus`, { method: 'POST', body: lines.join('\n') + '\n' });
    if (!res.ok) throw new Error(`victoria-metrics import: ${res.status} ${await res.text()}`);
    lines.length = 0;
  };
  for (const s of samples) {
    lines.push(`${labelText(s)} ${s.value} ${s.timestampMs}`);
    if (lines.length >= 50_000) await flush();
  }
  await flush();
  await fetch(`${base}/internal/force_flush`);
  const stop = stopper(proc);
  return {
    peer: { name: 'VictoriaMetrics', queryRange: (e, s, en, st) => rangeQuery(base, e, s, en, st), stop },
    uncached: { name: 'VictoriaMetrics (nocache)', queryRange: (e, s, en, st) => rangeQuery(base, e, s, en, st, '&nocache=1'), stop: async () => {} },
  };
}

/** Prometheus on blocks backfilled from the samples with `promtool tsdb create-blocks-from openmetrics`. */
export async function startPrometheus(samples: readonly MetricSample[]): Promise<PeerTsdb | string> {
  if (!installed('prometheus') || !installed('promtool')) return 'prometheus is not installed (apt-get install prometheus): skipped';
  const dir = mkdtempSync(join(tmpdir(), 'pharos-bench-prom-'));
  const om = join(dir, 'data.om');
  // OpenMetrics: a counter family `x` has samples `x_total`; everything else goes as `unknown`,
  // whose samples carry the family's own name. Families must be contiguous.
  const families = new Map<string, string>();
  for (const s of samples) {
    if (families.has(s.name)) continue;
    families.set(s.name, s.type === 'counter' && s.name.endsWith('_total') ? `# TYPE ${s.name.slice(0, -'_total'.length)} counter` : `# TYPE ${s.name} unknown`);
  }
  const out: string[] = [];
  const byName = [...samples].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let family = '';
  for (const s of byName) {
    if (s.name !== family) out.push(families.get((family = s.name))!);
    out.push(`${labelText(s)} ${s.value} ${(s.timestampMs / 1000).toFixed(3)}`);
  }
  out.push('# EOF');
  writeFileSync(om, out.join('\n') + '\n');
  const data = join(dir, 'data');
  const created = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', om, data], { encoding: 'utf8' });
  if (created.status !== 0) return `promtool could not backfill: ${created.stderr.slice(0, 300)}`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, 'global: {}\n');
  const proc = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${data}`, `--web.listen-address=127.0.0.1:${port}`, '--storage.tsdb.retention.time=100y', '--log.level=error'], { stdio: 'ignore' });
  await waitHttp(`${base}/-/ready`, proc, 'prometheus');
  return { name: 'Prometheus', queryRange: (e, s, en, st) => rangeQuery(base, e, s, en, st), stop: stopper(proc) };
}
