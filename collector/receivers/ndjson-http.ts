/**
 * Newline-delimited JSON logs: `POST /v1/ndjson`, one JSON object per line (any Content-Type,
 * e.g. `application/x-ndjson`; `Content-Encoding: gzip` allowed), parsed like a
 * `parser: json` file input: the message, time and level fields fill the record's own (the same
 * default keys: msg/message/log/body, time/timestamp/ts/@timestamp, level/severity/lvl), the
 * other fields become attributes. `?service=NAME` sets `service.name` (default `ndjson`), and
 * `?host=NAME` `host.name` (default the collector's node name).
 *
 * The answer is JSON: `{"accepted": N, "rejected": M, "errors": [{"line": 3, "error": "…"}]}`
 * (the first 10 errors). A line that is not a JSON object is kept whole, tagged
 * `log.parse_error`, as file tail does; a line over max_line_bytes is refused and listed.
 */
import type { Request, Response } from 'express';
import type { LogRecord } from '../../core/model/records.js';
import { parseEvents } from '../transforms/events.js';
import { createLineParser, type LineParser } from '../transforms/parser.js';
import type { ComponentTelemetry } from '../events.js';
import type { Registry } from '../../core/telemetry/registry.js';
import type { Backpressure } from './backpressure.js';
import { readBody, ReceiveError } from './body.js';
import type { RejectEvents } from './events.js';
import type { LogIntake } from './log-intake.js';
import { deliverLogs, type OtlpHttpLimits } from './otlp-http.js';

export interface NdjsonOptions {
  limits: OtlpHttpLimits;
  logs: LogIntake;
  backpressure: Backpressure;
  events: RejectEvents;
  nodeName: string;
  registry: Registry;
  telemetry: ComponentTelemetry;
}

const MAX_LISTED_ERRORS = 10;
const NAME = /^[A-Za-z0-9_.:\-/]{1,128}$/;

export function ndjsonHandler(opts: NdjsonOptions): (req: Request, res: Response) => Promise<void> {
  const parser: LineParser = createLineParser({ parser: 'json', time_format: 'rfc3339' }, parseEvents(opts.registry, opts.telemetry, 'json'));
  const resources = new Map<string, Record<string, string>>();
  return async (req, res) => {
    res.locals.metricsRoute = '/v1/ndjson';
    const fail = (status: number, error: string, retryAfter?: number) => {
      if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
      res.status(status).json({ status: 'error', errorType: status >= 500 ? 'unavailable' : 'bad_request', error });
    };
    try {
      const pressure = opts.backpressure();
      if (pressure) {
        req.resume();
        opts.events.rejected('backpressure', 1, `ndjson request refused with 503: ${pressure.reason}`);
        return fail(503, `collector cannot take more now: ${pressure.reason}`, pressure.retryAfterSeconds);
      }
      const service = param(req, 'service') ?? 'ndjson';
      const host = param(req, 'host') ?? opts.nodeName;
      const body = await readBody(req, opts.limits.maxBodyBytes);
      const key = `${service}\u0000${host}`;
      let resource = resources.get(key);
      if (!resource) {
        resource = Object.freeze({ 'service.name': service, 'host.name': host }) as Record<string, string>;
        if (resources.size < 1000) resources.set(key, resource);
      }
      const records: LogRecord[] = [];
      const errors: { line: number; error: string }[] = [];
      let rejected = 0;
      let lineNo = 0;
      let start = 0;
      const max = opts.limits.maxLineBytes;
      while (start < body.length) {
        let end = body.indexOf(10, start);
        if (end < 0) end = body.length;
        lineNo++;
        let stop = end;
        if (stop > start && body[stop - 1] === 13) stop--;
        const length = stop - start;
        if (length > max) {
          rejected++;
          if (errors.length < MAX_LISTED_ERRORS) errors.push({ line: lineNo, error: `line of ${length} bytes exceeds max_line_bytes (${max})` });
        } else if (length > 0) {
          const attributes = {};
          const parsed = parser.parse(body.toString('utf8', start, stop), attributes);
          records.push({
            timeUnixNano: parsed.timeUnixNano,
            observedTimeUnixNano: 0n,
            severityNumber: parsed.severity.number,
            severityText: parsed.severity.text,
            body: parsed.body,
            resource,
            attributes,
            traceId: '',
            spanId: '',
            flags: 0,
          });
        }
        start = end + 1;
      }
      if (rejected > 0) opts.events.rejected('line_too_long', rejected, `ndjson: ${rejected} line(s) over max_line_bytes (${max}) refused`);
      if (records.length > 0) await deliverLogs(records, body.length, opts);
      res.status(200).json({ accepted: records.length, rejected, errors });
    } catch (err) {
      if (err instanceof ReceiveError) {
        opts.events.rejected(err.status === 413 ? 'body_too_large' : err.status === 503 ? 'backpressure' : err.status === 415 ? 'unsupported_media_type' : 'bad_request', 1, `ndjson request refused with ${err.status}: ${err.message}`);
        return fail(err.status, err.message, err.status === 503 ? opts.limits.retryAfterSeconds : undefined);
      }
      throw err;
    }
  };
}

function param(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !NAME.test(v)) throw new ReceiveError(400, `query parameter ${name} must be 1-128 characters of letters, digits and _.:-/`);
  return v;
}
