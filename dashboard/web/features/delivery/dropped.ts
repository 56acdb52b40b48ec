/** Drops by reason as the delivery view shows them: the biggest reason first. */

export interface DropReason {
  reason: string;
  count: number;
}

export function droppedTotal(dropped: Readonly<Record<string, number>>): number {
  let total = 0;
  for (const n of Object.values(dropped)) total += n;
  return total;
}

/** Reasons by count, largest first; equal counts by name, so rows do not reshuffle on refresh. */
export function dropReasons(dropped: Readonly<Record<string, number>>): DropReason[] {
  return Object.entries(dropped)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
}
