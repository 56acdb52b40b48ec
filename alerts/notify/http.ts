/** The one place HTTP responses of receivers are classified: 2xx ok, 429 and 5xx retryable, other 4xx not. */
import type { NotifyResult } from './stages.js';

export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * POSTs JSON. `shownUrl` is what may appear in errors: callers pass a redacted form, since
 * webhook URLs often carry a token.
 */
export async function postJson(
  url: string,
  body: unknown,
  opts: { timeoutMs: number; signal: AbortSignal; shownUrl: string; nowMs: number; headers?: Record<string, string> },
): Promise<NotifyResult> {
  const signal = AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'pharos-alerts', ...opts.headers },
      body: JSON.stringify(body),
      signal,
    });
  } catch (err) {
    const e = err as Error;
    const timedOut = e.name === 'TimeoutError' || (e.name === 'AbortError' && !opts.signal.aborted);
    return {
      ok: false,
      retryable: !opts.signal.aborted,
      reason: timedOut ? 'timeout' : 'network',
      error: `POST ${opts.shownUrl}: ${timedOut ? `no response within ${opts.timeoutMs} ms` : (causeCode(e) ?? e.message)}`,
    };
  }
  // Drain the body so the connection can be reused; the text helps explain a failure.
  const text = await res.text().catch(() => '');
  return classify(res.status, res.headers.get('retry-after'), opts.nowMs, `POST ${opts.shownUrl}`, text);
}

export function classify(status: number, retryAfter: string | null, nowMs: number, what: string, body = ''): NotifyResult {
  if (status >= 200 && status < 300) return { ok: true };
  const snippet = body.slice(0, 200).replace(/\s+/g, ' ').trim();
  const error = `${what}: HTTP ${status}${snippet ? `: ${snippet}` : ''}`;
  const retryAfterMs = parseRetryAfter(retryAfter, nowMs);
  if (status === 429) return { ok: false, retryable: true, reason: 'rate_limited', error, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  if (status >= 500) return { ok: false, retryable: true, reason: 'server_error', error, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  return { ok: false, retryable: false, reason: 'client_error', error };
}

function causeCode(e: Error): string | undefined {
  const c = e.cause as { code?: string } | undefined;
  return c?.code;
}
