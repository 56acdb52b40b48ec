/** What the delivery view reads: the warehouse's per-host, per-source accounting (`/api/delivery`). */
import type { DeliveryResponse } from '../../../server/routes/delivery.js';
import { apiGet } from '../../ui/api-client.js';

export type DeliveryData = DeliveryResponse['data'];
export type DeliveryRow = DeliveryData['rows'][number];

export const RANGES = [
  { id: '15m', label: 'Last 15 minutes' },
  { id: '1h', label: 'Last hour' },
  { id: '6h', label: 'Last 6 hours' },
  { id: '24h', label: 'Last 24 hours' },
] as const;
export const DEFAULT_RANGE = '1h';

/** A source whose newest record is older than this has stopped shipping, as far as we can tell. */
export const STALE_AFTER_MS = 5 * 60_000;

export function fetchDelivery(range: string, signal?: AbortSignal): Promise<DeliveryData> {
  return apiGet<DeliveryData>('/api/delivery', { from: `now-${range}` }, signal);
}

export type Health = 'ok' | 'stale' | 'lossy' | 'filtered';

/**
 * Stopped beats lossy: a shipper that stopped is the first thing to fix. A source that delivered
 * nothing because its filters dropped all it read is neither: that is what its rules ask for.
 */
export function healthOf(row: DeliveryRow): Health {
  if (row.ageMs === null) return 'filtered';
  if (row.ageMs > STALE_AFTER_MS) return 'stale';
  if (row.missing > 0) return 'lossy';
  return 'ok';
}
