/**
 * Structured JSON logs (pino). One root logger per process; each component takes a child
 * carrying `component_kind` and `component_id`. Redaction is a second net: secrets should never
 * be passed to a log call in the first place.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger, type Level } from 'pino';

export type { Logger };

/**
 * Keys whose values never reach a log line, at the top level and one level down (pino's `*`
 * matches one level), plus the deeper paths a whole config section would put them at.
 */
const SECRET_KEYS = [
  'password',
  'auth_password',
  'token',
  'tokens',
  'access_token',
  'routing_key',
  'api_url',
  'authorization',
  'cookie',
  'sasl',
  'secret',
  'csrf',
  'csrfToken',
  'sessionId',
];

export const REDACT_PATHS = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`]),
  'headers.authorization',
  'headers.cookie',
  'headers["x-csrf-token"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  // A config object, or a section of one, logged whole.
  'kafka.sasl',
  'kafka.tls.key',
  'ssl.key',
  '*.ssl.key',
  'clickhouse.password',
  'auth.tokens',
  'config.kafka.sasl',
  'config.clickhouse.password',
  'config.auth.tokens',
  'config.alerts.notify.receivers',
  'alerts.notify.receivers',
];

export interface LogOptions {
  level?: Level;
  /** Also append JSON lines to this file (the collector tails it: Pharos ships its own logs). */
  file?: string | undefined;
  /** Where to write instead of stdout (tests capture logs through it). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const base = { redact: { paths: REDACT_PATHS, censor: '[redacted]' }, level, base: { pid: process.pid } };
  const streams: pino.StreamEntry[] = [{ level, stream: opts.destination ?? pino.destination({ fd: 1, sync: false }) }];
  if (opts.file) {
    mkdirSync(dirname(opts.file), { recursive: true });
    streams.push({ level, stream: pino.destination({ dest: opts.file, mkdir: true, sync: false }) });
  }
  return pino(base, pino.multistream(streams));
}

/** A logger that drops everything, for unit tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export function componentLogger(root: Logger, kind: 'source' | 'transform' | 'sink' | 'service', id: string, type?: string): Logger {
  return root.child({ component_kind: kind, component_id: id, ...(type ? { component_type: type } : {}) });
}
