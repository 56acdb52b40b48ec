/**
 * The contract between the warehouse's log queries and their users (dashboard, alerts).
 * Times cross the boundary as strings of nanoseconds since the epoch: JSON has no 64-bit ints.
 */
export interface LogSearchParams {
  /** Inclusive start, nanoseconds since the epoch. */
  fromNs: bigint;
  /** Exclusive end, nanoseconds since the epoch. */
  toNs: bigint;
  /** Free text: every whitespace-separated token must be present in the body; "quoted phrases" as a whole. */
  text?: string | undefined;
  service?: string | undefined;
  host?: string | undefined;
  /** Minimum severity number (OpenTelemetry 1-24). */
  minSeverity?: number | undefined;
  /** Rows to return, newest first. */
  limit: number;
}

export interface LogRow {
  /** Nanoseconds since the epoch, as a decimal string. */
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityText: string;
  severityNumber: number;
  serviceName: string;
  hostName: string;
  body: string;
  traceId: string;
  spanId: string;
  resourceAttributes: Record<string, string>;
  logAttributes: Record<string, string>;
}

export interface LogSearch {
  search(params: LogSearchParams): Promise<LogRow[]>;
}
