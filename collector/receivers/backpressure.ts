/**
 * How a push receiver learns that the collector cannot take more: the answer is 503 with
 * Retry-After (OTLP/HTTP's retryable "try later"), never a silent drop. The collector passes a
 * callback; when the disk spool exists its "full" signal plugs in here.
 */
export interface Backpressure {
  /** Undefined while the collector takes records; else why not and when to retry. */
  (): { reason: string; retryAfterSeconds: number } | undefined;
}

export const NO_BACKPRESSURE: Backpressure = () => undefined;
