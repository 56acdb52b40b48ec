/**
 * On-call schedules: layers of rotations, each handing off at fixed times, with overrides for a
 * time span on top. Layers later in the list override earlier ones while they have someone on
 * call (PagerDuty's layering), and an override beats every layer. Rotation lengths are fixed
 * (a day is 24 h, a week 168 h from the handoff anchor), so a handoff is at the same UTC time.
 */

export interface RotationLayer {
  name: string;
  /** Receiver names, taking turns in this order. */
  members: readonly string[];
  /** When the first member's first shift starts (the handoff anchor), ms since the epoch. */
  startMs: number;
  /** Optional end of the layer. */
  endMs?: number | undefined;
  /** Length of one shift. */
  shiftMs: number;
}

export interface Override {
  member: string;
  startMs: number;
  endMs: number;
}

export interface Schedule {
  name: string;
  layers: readonly RotationLayer[];
  overrides: readonly Override[];
}

export interface OnCall {
  member: string;
  /** `override` or the layer's name. */
  source: string;
  /** When this shift (or override) ends: the next handoff. */
  untilMs: number;
}

/** Who a layer has on call at `t`, or undefined outside the layer's span. */
export function layerOnCall(layer: RotationLayer, t: number): OnCall | undefined {
  if (layer.members.length === 0 || t < layer.startMs || (layer.endMs !== undefined && t >= layer.endMs)) return undefined;
  const shift = Math.floor((t - layer.startMs) / layer.shiftMs);
  const until = layer.startMs + (shift + 1) * layer.shiftMs;
  return { member: layer.members[shift % layer.members.length]!, source: layer.name, untilMs: layer.endMs !== undefined ? Math.min(until, layer.endMs) : until };
}

/** Who is on call at `t`, or undefined when nobody is. */
export function onCallAt(s: Schedule, t: number): OnCall | undefined {
  // The override that started last wins when overrides overlap.
  let best: Override | undefined;
  for (const o of s.overrides) if (o.startMs <= t && t < o.endMs && (!best || o.startMs >= best.startMs)) best = o;
  if (best) return { member: best.member, source: 'override', untilMs: best.endMs };
  for (let i = s.layers.length - 1; i >= 0; i--) {
    const c = layerOnCall(s.layers[i]!, t);
    if (c) {
      // A higher layer or an override starting before the shift ends cuts it short.
      let until = c.untilMs;
      for (const o of s.overrides) if (o.startMs > t && o.startMs < until) until = o.startMs;
      for (let j = i + 1; j < s.layers.length; j++) {
        const l = s.layers[j]!;
        if (l.startMs > t && l.startMs < until) until = l.startMs;
      }
      return { ...c, untilMs: until };
    }
  }
  return undefined;
}
