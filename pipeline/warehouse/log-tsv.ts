/**
 * LogRecords as `otel_logs` TabSeparated lines: the same mapping as log-rows.ts (the exporter's),
 * written straight to text without an intermediate row object.
 *
 * Columns the collector never fills (`ResourceSchemaUrl`, `ScopeSchemaUrl`, `ScopeAttributes`,
 * `EventName`) are left out of the insert and take their defaults, as does `TimestampTime`.
 */
import type { Attributes, LogRecord } from '../../core/model/records.js';
import { attributeString } from './log-rows.js';
import { tsvQuoted, tsvString } from './tsv.js';

export const OTEL_LOGS_TSV_COLUMNS = [
  'Timestamp',
  'TraceId',
  'SpanId',
  'TraceFlags',
  'SeverityText',
  'SeverityNumber',
  'ServiceName',
  'Body',
  'ResourceAttributes',
  'ScopeName',
  'ScopeVersion',
  'LogAttributes',
] as const;

/**
 * The resource part of a line (service and resource attributes) is the same for every record of
 * an OTLP ResourceLogs, and decodeLogs shares one frozen object among them: encoded once per object.
 */
const resourceText = new WeakMap<Attributes, { service: string; attributes: string }>();

function resourcePart(resource: Attributes): { service: string; attributes: string } {
  let part = resourceText.get(resource);
  if (part === undefined) {
    const service = resource['service.name'];
    part = { service: service === undefined ? '' : tsvString(attributeString(service)), attributes: attributesText(resource) };
    resourceText.set(resource, part);
  }
  return part;
}

function attributesText(attrs: Attributes): string {
  let out = '';
  // Object.keys over for-in: decoded attribute objects are plain, and keys() skips the prototype walk.
  const keys = Object.keys(attrs);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = attrs[k]!;
    // Strings and numbers print as attributeString would (lone surrogates: see tsv.ts); the rest goes through it.
    const text = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : attributeString(v);
    out += i === 0 ? `${tsvQuoted(k)}:${tsvQuoted(text)}` : `,${tsvQuoted(k)}:${tsvQuoted(text)}`;
  }
  return `{${out}}`;
}

function uint8(n: number): number {
  return Number.isInteger(n) && n >= 0 && n <= 255 ? n : Number.isFinite(n) ? Math.min(255, Math.max(0, Math.trunc(n))) : 0;
}

/** decodeLogs prints ids as lowercase hex already: only something else needs the slow path. */
function hexId(id: string): string {
  return id === '' || /^[0-9a-f]+$/.test(id) ? id : tsvString(id.toLowerCase());
}

/** One line, newline included; `timeNano` from storedTimeNano. Needs OTEL_LOGS_INSERT_SETTINGS, as the JSON rows. */
export function otelLogTsvLine(r: LogRecord, timeNano: bigint): string {
  const res = resourcePart(r.resource);
  return `${timeNano}\t${hexId(r.traceId)}\t${hexId(r.spanId)}\t${uint8(r.flags)}\t${tsvString(r.severityText)}\t${uint8(r.severityNumber)}\t${res.service}\t${tsvString(r.body)}\t${res.attributes}\t${tsvString(r.scopeName ?? '')}\t${tsvString(r.scopeVersion ?? '')}\t${attributesText(r.attributes)}\n`;
}
