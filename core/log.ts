/**
 * Structured JSON logs (pino). One root logger per process; each component takes a child
 * carrying `component_kind` and `component_id`. Redaction is a second net: secrets should never
 * be passed to a log call in the first place.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger, type Level } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'sasl',
  '*.sasl',
  'secret',
  '*.secret',
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
