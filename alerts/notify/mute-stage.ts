/** Drops alerts a Muter (silences, inhibition) mutes at the time of the group's tick. */
import type { Labels } from '../model.js';
import { stage, type Stage } from './stages.js';

export interface Muter {
  /** Ids of what mutes these labels (silence ids, inhibit rule sources); empty when not muted. */
  mutedBy(labels: Labels, nowMs: number): string[];
}

export function muteStage(muter: Muter, onMuted?: (count: number) => void): Stage {
  return stage(async (ctx, alerts) => {
    const kept = alerts.filter((a) => muter.mutedBy(a.labels, ctx.nowMs).length === 0);
    if (kept.length < alerts.length) onMuted?.(alerts.length - kept.length);
    return kept;
  });
}
