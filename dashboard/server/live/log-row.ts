/**
 * A decoded bus record as the LogRow the warehouse would answer for it: the same time choice,
 * the same attribute strings, so a line seen live and the same line from /api/logs compare equal
 * (the page de-duplicates the history it loads against what arrived live).
 */
import type { LogRow } from '../../../core/model/log-search.js';
import type { LogRecord } from '../../../core/model/records.js';
import { storedTimeNano, toOtelLogRow } from '../../../pipeline/warehouse/log-rows.js';

export function recordToRow(record: LogRecord, fallbackNano: bigint): LogRow {
  const timeNano = storedTimeNano(record, fallbackNano);
  const r = toOtelLogRow(record, timeNano);
  const time = timeNano.toString();
  return {
    timeUnixNano: time,
    observedTimeUnixNano: time,
    severityText: r.SeverityText,
    severityNumber: r.SeverityNumber,
    serviceName: r.ServiceName,
    hostName: r.ResourceAttributes['host.name'] ?? '',
    body: r.Body,
    traceId: r.TraceId,
    spanId: r.SpanId,
    // Plain objects: the null-prototype maps of the row builder print the same but compare unequal in tests.
    resourceAttributes: { ...r.ResourceAttributes },
    logAttributes: { ...r.LogAttributes },
  };
}

/** Identity of a line for de-duplication across the live stream and a history query. */
export function lineKey(row: Pick<LogRow, 'timeUnixNano' | 'serviceName' | 'hostName' | 'body'>): string {
  return `${row.timeUnixNano}\u0000${row.serviceName}\u0000${row.hostName}\u0000${row.body}`;
}
