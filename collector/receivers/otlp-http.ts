/**
 * OTLP/HTTP receiver for logs and metrics (`POST /v1/logs`, `POST /v1/metrics`), as the
 * OpenTelemetry specification defines it and the OpenTelemetry Collector's otlp receiver answers:
 *
 * - bodies in `application/x-protobuf` or `application/json` (OTLP/JSON), plain or
 *   `Content-Encoding: gzip`; `max_body_bytes` holds on the wire and after decompression (413);
 * - 200 with an empty response on success; 200 with `partial_success` (the count refused and why)
 *   when some records or data points broke a limit; 400 for bytes that do not decode, 413, 415,
 *   and 503 with Retry-After while the collector cannot take more; every 4xx/5xx carries a
 *   `google.rpc.Status` in the request's encoding;
 * - logs are answered once Kafka acknowledged them (at least once: a client that retries after a
 *   503 that timed out waiting for the acknowledgement may send records twice); metrics once
 *   they are queued for the metrics topic, like scraped samples.
 */
import type { Request, Response } from 'express';
import { decodeLogs, decodeMetricsDetailed, type MetricDropReason } from '../../core/codec/codec.js';
import type { LogRecord } from '../../core/model/records.js';
import type { Backpressure } from './backpressure.js';
import { readBody, ReceiveError } from './body.js';
import type { RejectEvents } from './events.js';
import type { LogIntake } from './log-intake.js';
import type { MetricIntake } from './metric-intake.js';
import { contentTypeOf, exportResponse, otlpJsonToProtobuf, statusBody, wireFormatOf, type Signal, type WireFormat } from './otlp-messages.js';

export interface OtlpHttpLimits {
  maxBodyBytes: number;
  /** A log body longer than this (UTF-8 bytes) is refused (partial success). */
  maxLineBytes: number;
  /** How long a request waits for room in the sink, then for Kafka's acknowledgement, before 503. */
  ackTimeoutMs: number;
  retryAfterSeconds: number;
}

export interface OtlpHttpOptions {
  limits: OtlpHttpLimits;
  logs: LogIntake;
  metrics: MetricIntake;
  backpressure: Backpressure;
  events: RejectEvents;
}

const DROP_TEXT: Record<MetricDropReason, string> = {
  delta_temporality: 'delta temporality is not supported (Prometheus series are cumulative; use the cumulativetodelta-inverse processor or cumulative temporality)',
  unspecified_temporality: 'aggregation temporality is unspecified',
  exponential_histogram: 'exponential histograms are not supported',
  missing_timestamp: 'data point without time_unix_nano',
};

export function otlpHttpHandler(signal: Signal, opts: OtlpHttpOptions): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    res.locals.metricsRoute = `/v1/${signal}`;
    const format = wireFormatOf(req.headers['content-type']);
    const answerFormat: WireFormat = format ?? 'json';
    const fail = (status: number, message: string, retryAfter?: number) => {
      if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
      res.status(status).type(contentTypeOf(answerFormat)).send(statusBody(answerFormat, status, message));
    };
    try {
      const pressure = opts.backpressure();
      if (pressure) {
        req.resume();
        opts.events.rejected('backpressure', 1, `OTLP ${signal} request refused with 503: ${pressure.reason}`);
        return fail(503, `collector cannot take more now: ${pressure.reason}`, pressure.retryAfterSeconds);
      }
      if (!format) {
        req.resume();
        throw new ReceiveError(415, `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')} is not OTLP/HTTP: use application/x-protobuf or application/json`);
      }
      const body = await readBody(req, opts.limits.maxBodyBytes);
      const bytes = format === 'json' ? otlpJsonToProtobuf(signal, body) : body;
      const result = signal === 'logs' ? await receiveLogs(bytes, body.length, opts) : receiveMetrics(bytes, opts);
      res.status(200).type(contentTypeOf(format)).send(exportResponse(signal, format, result.rejected, result.message));
    } catch (err) {
      if (err instanceof ReceiveError) {
        opts.events.rejected(reasonOf(err.status), 1, `OTLP ${signal} request refused with ${err.status}: ${err.message}`);
        return fail(err.status, err.message, err.status === 503 || err.status === 429 ? opts.limits.retryAfterSeconds : undefined);
      }
      throw err;
    }
  };
}

function reasonOf(status: number) {
  switch (status) {
    case 413:
      return 'body_too_large' as const;
    case 415:
      return 'unsupported_media_type' as const;
    case 503:
    case 429:
      return 'backpressure' as const;
    default:
      return 'bad_request' as const;
  }
}

async function receiveLogs(bytes: Uint8Array, wireBytes: number, opts: OtlpHttpOptions): Promise<{ rejected: number; message: string }> {
  let records: LogRecord[];
  try {
    records = decodeLogs(bytes);
  } catch (err) {
    throw new ReceiveError(400, (err as Error).message.replace(/: message dead-lettered$/, ''));
  }
  const max = opts.limits.maxLineBytes;
  const kept: LogRecord[] = [];
  let tooLong = 0;
  for (const r of records) {
    if (r.body.length > max / 3 && Buffer.byteLength(r.body) > max) tooLong++;
    else kept.push(r);
  }
  let message = '';
  if (tooLong > 0) {
    message = `${tooLong} log record(s) with a body over max_line_bytes (${max} bytes) refused`;
    opts.events.rejected('line_too_long', tooLong, message);
  }
  if (kept.length > 0) await deliverLogs(kept, wireBytes, opts);
  return { rejected: tooLong, message };
}

/** Waits for room, then for the acknowledgement, each within ack_timeout_ms; 503 otherwise. */
export async function deliverLogs(records: LogRecord[], bytes: number, opts: { logs: LogIntake; limits: Pick<OtlpHttpLimits, 'ackTimeoutMs'> }): Promise<void> {
  const timeout = AbortSignal.timeout(opts.limits.ackTimeoutMs);
  let acked: Promise<void>;
  try {
    ({ acked } = await opts.logs.push(records, bytes, timeout));
  } catch {
    throw new ReceiveError(503, `the collector's log path is full (Kafka slow or down): not accepted within ${opts.limits.ackTimeoutMs} ms`);
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), opts.limits.ackTimeoutMs)));
  const outcome = await Promise.race([acked.then(() => 'acked' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    throw new ReceiveError(503, `accepted but not acknowledged by Kafka within ${opts.limits.ackTimeoutMs} ms: retry (the records may then arrive twice)`);
  }
}

function receiveMetrics(bytes: Uint8Array, opts: OtlpHttpOptions): { rejected: number; message: string } {
  let decoded;
  try {
    decoded = decodeMetricsDetailed(bytes);
  } catch (err) {
    throw new ReceiveError(400, (err as Error).message.replace(/: message dead-lettered$/, ''));
  }
  if (!opts.metrics.healthy()) throw new ReceiveError(503, 'metrics cannot be delivered now (Kafka unreachable): retry later');
  const messages: string[] = [];
  let rejected = 0;
  for (const d of decoded.dropped) {
    rejected += d.count;
    messages.push(`${d.count} data point(s): ${DROP_TEXT[d.reason]}`);
  }
  if (rejected > 0) opts.events.rejected('unsupported_point', rejected, `OTLP data points not turned into samples: ${messages.join('; ')}`);
  const admitted = opts.metrics.push(decoded.samples);
  rejected += admitted.rejected;
  if (admitted.message) messages.push(admitted.message);
  return { rejected, message: messages.join('; ') };
}
