/**
 * Errors of Pharos. Bad data never throws across the data path (it is counted and dead-lettered);
 * operational failures are retryable; broken invariants throw. `code` is a closed set because
 * it becomes a metric label.
 */
export type ErrorCode =
  | 'invalid_config'
  | 'invalid_utf8'
  | 'line_too_long'
  | 'decode_failed'
  | 'broker_unreachable'
  | 'kafka_provision_failed'
  | 'kafka_start_failed'
  | 'partition_revoked'
  | 'clickhouse_unavailable'
  | 'insert_failed'
  | 'migration_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'bad_request'
  | 'internal';

export class PharosError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PharosError';
  }
}

/** Removes credentials from a URL before it reaches a log line or an error message. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? '***' : '';
      u.password = u.password ? '***' : '';
    }
    for (const k of [...u.searchParams.keys()]) {
      if (/token|key|secret|password|auth/i.test(k)) u.searchParams.set(k, '***');
    }
    // Webhook URLs carry their key in the path (Slack's /services/T…/B…/<key>, Discord's
    // /api/webhooks/<id>/<token>): a long segment mixing letters and digits, or any very long
    // one, is a credential, not a route.
    u.pathname = u.pathname
      .split('/')
      .map((seg) => (seg.length >= 24 || (seg.length >= 16 && /[A-Za-z]/.test(seg) && /\d/.test(seg)) ? '***' : seg))
      .join('/');
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}
