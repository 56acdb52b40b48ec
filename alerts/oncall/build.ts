/** The on-call config turned into what Escalations and the API work with. */
import { durationMs } from '../rules/duration.js';
import { rotationMs, type OncallConfig } from './config.js';
import type { EscalationPolicy } from './escalation.js';
import type { Schedule } from './schedule.js';

export function buildSchedules(c: OncallConfig): Map<string, Schedule> {
  return new Map(
    c.schedules.map((s) => [
      s.name,
      {
        name: s.name,
        layers: s.layers.map((l) => ({
          name: l.name,
          members: l.members,
          startMs: Date.parse(l.start),
          ...(l.end !== undefined ? { endMs: Date.parse(l.end) } : {}),
          shiftMs: rotationMs(l.rotation),
        })),
        overrides: s.overrides.map((o) => ({ member: o.member, startMs: Date.parse(o.start), endMs: Date.parse(o.end) })),
      },
    ]),
  );
}

export function buildPolicies(c: OncallConfig): Map<string, EscalationPolicy> {
  return new Map(
    c.escalation_policies.map((p) => [
      p.name,
      {
        name: p.name,
        levels: p.levels.map((l) => ({ targets: l.targets, escalateAfterMs: durationMs(l.escalate_after) })),
        repeat: p.repeat,
        nobodyOnCallReceiver: p.nobody_on_call_receiver,
      },
    ]),
  );
}
