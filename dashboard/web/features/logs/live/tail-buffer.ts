/**
 * What the live tail holds, newest first: rows and the markers that say where lines are missing
 * ("N dropped", "N missed"). Pure, so the de-duplication and pause rules are tested without a
 * browser: history and the first live rows overlap, and a row is shown once whatever its source.
 */
import type { LogRow } from '../api.js';

export type TailItem =
  | { kind: 'row'; key: string; row: LogRow; offset?: number }
  | { kind: 'marker'; key: string; tone: 'dropped' | 'gap' | 'info'; text: string };

export interface TailState {
  items: TailItem[];
  /** Rows received while paused, oldest first; shown on resume. */
  pending: TailItem[];
  paused: boolean;
  /** Keys of the rows held (shown or pending). */
  keys: Set<string>;
  dropped: number;
}

export const MAX_ITEMS = 1000;

export function emptyTail(paused = false): TailState {
  return { items: [], pending: [], paused, keys: new Set(), dropped: 0 };
}

export function lineKey(row: Pick<LogRow, 'timeUnixNano' | 'serviceName' | 'hostName' | 'body'>): string {
  return `${row.timeUnixNano}\u0000${row.serviceName}\u0000${row.hostName}\u0000${row.body}`;
}

let markerSeq = 0;
export function marker(tone: 'dropped' | 'gap' | 'info', text: string): TailItem {
  return { kind: 'marker', key: `marker-${++markerSeq}`, tone, text };
}

/** Live rows (oldest first) and markers, in arrival order. */
export function addLive(state: TailState, incoming: readonly TailItem[]): TailState {
  const fresh: TailItem[] = [];
  const keys = new Set(state.keys);
  for (const item of incoming) {
    if (item.kind === 'row') {
      if (keys.has(item.key)) continue;
      keys.add(item.key);
    }
    fresh.push(item);
  }
  if (fresh.length === 0) return state;
  if (state.paused) return trim({ ...state, keys, pending: [...state.pending, ...fresh] });
  return trim({ ...state, keys, items: [...fresh.reverse(), ...state.items] });
}

/** History (newest first, older than the live rows): goes below what is shown. */
export function addHistory(state: TailState, rows: readonly LogRow[]): TailState {
  const keys = new Set(state.keys);
  const older: TailItem[] = [];
  for (const row of rows) {
    const key = lineKey(row);
    if (keys.has(key)) continue;
    keys.add(key);
    older.push({ kind: 'row', key, row });
  }
  return trim({ ...state, keys, items: [...state.items, ...older] });
}

export function pause(state: TailState): TailState {
  return state.paused ? state : { ...state, paused: true };
}

export function resume(state: TailState): TailState {
  if (!state.paused) return state;
  return trim({ ...state, paused: false, items: [...[...state.pending].reverse(), ...state.items], pending: [] });
}

export function pendingRows(state: TailState): number {
  return state.pending.reduce((n, i) => n + (i.kind === 'row' ? 1 : 0), 0);
}

/** Keeps the newest MAX_ITEMS shown (and as many pending); forgets the keys of what fell off. */
function trim(state: TailState): TailState {
  let { items, pending } = state;
  const gone: TailItem[] = [];
  if (items.length > MAX_ITEMS) {
    gone.push(...items.slice(MAX_ITEMS));
    items = items.slice(0, MAX_ITEMS);
  }
  if (pending.length > MAX_ITEMS) {
    gone.push(...pending.slice(0, pending.length - MAX_ITEMS));
    pending = pending.slice(pending.length - MAX_ITEMS);
  }
  if (gone.length === 0) return { ...state, items, pending };
  const keys = new Set(state.keys);
  for (const g of gone) if (g.kind === 'row') keys.delete(g.key);
  return { ...state, items, pending, keys };
}
