/**
 * Prometheus scrape: each target's URL fetched every `interval_ms` with a `timeout_ms`, its text
 * exposition parsed (prom-text.ts), and the samples sent through the collector's metric path with
 * `job` and `instance` (host:port of the URL) as Prometheus sets them, plus the series
 * Prometheus adds per scrape: `up` (1 when the scrape succeeded, else 0),
 * `scrape_duration_seconds` and `scrape_samples_scraped`.
 *
 * Samples without a timestamp get the scrape's start time, as Prometheus gives them. A target's
 * own `job`/`instance` labels are kept as `exported_job`/`exported_instance` (honor_labels off).
 */
import type { MetricSample } from '../../core/model/records.js';
import type { Logger } from '../../core/log.js';
import { parseExposition } from './prom-text.js';

export interface ScrapeTarget {
  url: string;
  job: string;
  interval_ms: number;
  timeout_ms: number;
  labels: Record<string, string>;
}

export interface ScrapeOptions {
  targets: readonly ScrapeTarget[];
  /** Where samples go (the collector's metric intake). */
  emit: (samples: MetricSample[]) => void;
  log: Logger;
  now?: () => number;
}

export interface ScrapeResult {
  samples: MetricSample[];
  up: boolean;
  error?: string;
}

const ACCEPT = 'text/plain;version=0.0.4;q=0.9,*/*;q=0.1';
/** A scrape body larger than this is refused: a target that dumps gigabytes must not take the host down. */
const MAX_SCRAPE_BYTES = 64 * 1024 * 1024;

export function instanceOf(url: string): string {
  const u = new URL(url);
  return u.port ? `${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port}` : `${u.hostname}:${u.protocol === 'https:' ? 443 : 80}`;
}

/** One scrape of one target: never throws; a failure is `up` 0 with the reason. */
export async function scrapeOnce(target: ScrapeTarget, now: () => number = Date.now): Promise<ScrapeResult> {
  const started = now();
  const base = { ...target.labels, job: target.job, instance: instanceOf(target.url) };
  let samples: MetricSample[] = [];
  let error: string | undefined;
  try {
    const res = await fetch(target.url, { headers: { Accept: ACCEPT, 'X-Prometheus-Scrape-Timeout-Seconds': String(target.timeout_ms / 1000) }, signal: AbortSignal.timeout(target.timeout_ms) });
    if (!res.ok) throw new Error(`HTTP ${res.status} from ${target.url}`);
    const text = await readCapped(res, MAX_SCRAPE_BYTES);
    const parsed = parseExposition(text, started);
    if (parsed.errors.length > 0) error = `${parsed.errors.length} line(s) did not parse: ${parsed.errors[0]}`;
    samples = parsed.samples.map((s) => ({ ...s, labels: withTargetLabels(s.labels, base) }));
  } catch (err) {
    const e = err as Error;
    error = e.name === 'TimeoutError' ? `scrape timed out after ${target.timeout_ms} ms` : e.message;
    samples = [];
  }
  const up = samples.length > 0 || error === undefined;
  const duration = (now() - started) / 1000;
  samples.push(
    { name: 'up', labels: base, timestampMs: started, value: up ? 1 : 0, type: 'gauge' },
    { name: 'scrape_duration_seconds', labels: base, timestampMs: started, value: duration, type: 'gauge' },
    { name: 'scrape_samples_scraped', labels: base, timestampMs: started, value: samples.length, type: 'gauge' },
  );
  return error === undefined ? { samples, up } : { samples, up, error };
}

async function readCapped(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (declared > max) throw new Error(`body of ${declared} bytes exceeds the scrape limit of ${max} bytes`);
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Node's web streams are async iterable; the DOM typings do not say so.
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > max) throw new Error(`body exceeds the scrape limit of ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function withTargetLabels(labels: Record<string, string>, base: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (Object.hasOwn(base, k)) out[`exported_${k}`] = v;
    else out[k] = v;
  }
  return Object.assign(out, base);
}

/** Starts a loop per target; `stop()` ends them. */
export function startScrapes(opts: ScrapeOptions): { stop(): void } {
  const timers: NodeJS.Timeout[] = [];
  for (const target of opts.targets) {
    let running = false;
    let failing = false;
    const tick = async () => {
      if (running) return;
      running = true;
      try {
        const r = await scrapeOnce(target, opts.now);
        opts.emit(r.samples);
        if (r.error && !failing) opts.log.warn({ target: target.url, job: target.job, error: r.error }, 'scrape failed or partly failed');
        else if (!r.error && failing) opts.log.info({ target: target.url, job: target.job }, 'scrape succeeds again');
        failing = r.error !== undefined;
      } finally {
        running = false;
      }
    };
    void tick();
    const timer = setInterval(() => void tick(), target.interval_ms);
    timer.unref();
    timers.push(timer);
  }
  if (opts.targets.length > 0) opts.log.info({ targets: opts.targets.map((t) => t.url) }, `scraping ${opts.targets.length} target(s)`);
  return { stop: () => timers.forEach(clearInterval) };
}
