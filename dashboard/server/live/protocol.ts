/**
 * The messages of `/api/live` (PROTOCOL.md beside this file says the same for people).
 * One socket per tab, multiplexed by subscription id; JSON text frames both ways.
 */
import { z } from 'zod';
import type { LogRow } from '../../../core/model/log-search.js';
import { logFilterSchema } from './log-filter.js';

export const LIVE_PATH = '/api/live';

const subscriptionId = z.string().min(1).max(64);

const subscribeMessage = z.discriminatedUnion('channel', [
  z.strictObject({
    type: z.literal('subscribe'),
    id: subscriptionId,
    channel: z.literal('logs'),
    filter: logFilterSchema.default({}),
    /** Resume after this offset of this epoch instead of starting fresh (no history then). */
    resume: z.strictObject({ epoch: z.string().max(64), offset: z.number().int().min(0) }).optional(),
    /** Rows of history from the warehouse before the live rows; default the server's `backfill_rows`. */
    history: z.number().int().min(0).max(5000).optional(),
  }),
  z.strictObject({
    type: z.literal('subscribe'),
    id: subscriptionId,
    channel: z.literal('series'),
    /** A PromQL vector selector, e.g. `node_load1{instance="pi-1"}`. */
    query: z.string().min(1).max(2000),
  }),
  z.strictObject({ type: z.literal('subscribe'), id: subscriptionId, channel: z.literal('alerts') }),
]);

export const clientMessage = z.discriminatedUnion('type', [subscribeMessage, z.strictObject({ type: z.literal('unsubscribe'), id: subscriptionId })]);
export type LiveClientMessage = z.infer<typeof clientMessage>;
export type LiveChannel = 'logs' | 'series' | 'alerts';

/** A live row: the LogRow of /api/logs plus its hub offset. */
export type LiveRow = LogRow & { offset: number };

export interface SeriesPoints {
  labels: Record<string, string>;
  /** [ms since the epoch, value]; a staleness marker is `null`. */
  points: Array<[number, number | null]>;
}

export type LiveServerMessage =
  | { type: 'subscribed'; id: string; channel: LiveChannel; epoch?: string; filter?: unknown; source?: string }
  | { type: 'history'; id: string; rows: LogRow[] }
  | { type: 'logs'; id: string; rows: LiveRow[]; last: number }
  | { type: 'gap'; id: string; missed: number | null; reason: string }
  | { type: 'dropped'; id: string; count: number }
  | { type: 'series'; id: string; series: SeriesPoints[] }
  | { type: 'alert'; id: string; event: unknown }
  | { type: 'error'; id?: string; code: string; error: string };

/** Close codes (4000-4999 are the application's). */
export const CLOSE = {
  tooManyClients: 1013, // "try again later"
  tooManySubscriptions: 4008,
  shuttingDown: 1001,
} as const;
