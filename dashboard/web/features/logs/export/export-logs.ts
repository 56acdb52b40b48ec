/**
 * Downloads `GET /api/logs/export` as a file. It goes through fetch rather than a plain link so a
 * bearer token (set by scripts and tests) is sent too; the server's content-disposition names it.
 */
import { ApiError } from '../../../ui/api-client.js';
import { authHeaders } from '../../../ui/auth-token.js';

export type ExportFormat = 'ndjson' | 'csv';

export interface ExportQuery {
  q?: string;
  service?: string;
  host?: string;
  from?: string;
  to?: string;
}

export function exportUrl(query: ExportQuery, format: ExportFormat, origin = window.location.origin): URL {
  const url = new URL('/api/logs/export', origin);
  url.searchParams.set('format', format);
  for (const [k, v] of Object.entries(query)) if (v) url.searchParams.set(k, v);
  return url;
}

export async function downloadExport(query: ExportQuery, format: ExportFormat): Promise<void> {
  let res: Response;
  try {
    res = await fetch(exportUrl(query, format), { headers: authHeaders('GET') });
  } catch {
    throw new ApiError(0, 'unreachable', 'Cannot reach the Pharos server. Is it running?');
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { errorType?: string; error?: string } | null;
    throw new ApiError(res.status, body?.errorType ?? 'http', body?.error ?? `The server answered ${res.status} ${res.statusText}`.trim());
  }
  const blob = await res.blob();
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `pharos-logs.${format}`;
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // The click has handed the blob to the download; free it once the browser had its turn.
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}
