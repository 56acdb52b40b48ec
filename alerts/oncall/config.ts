/**
 * On-call config, part of `alerts.notify` (alerts/notify/config.ts): schedules whose members are
 * receiver names, and escalation policies a route points at with `escalation_policy`.
 */
import { z } from 'zod';
import { parseDurationMs } from '../rules/duration.js';

const duration = z.string().refine((s) => parseDurationMs(s) !== undefined, {
  error: (i) => `invalid duration "${String(i.input)}": expected e.g. 30s, 5m, 1h30m`,
});
const instant = z.iso.datetime({ offset: true });

const layer = z
  .strictObject({
    name: z.string().min(1),
    /** Receiver names taking turns, in order. */
    members: z.array(z.string().min(1)).min(1),
    /** The first handoff: when the first member's first shift starts, e.g. 2026-01-05T09:00:00Z. */
    start: instant,
    end: instant.optional(),
    /** `daily`, `weekly`, or a shift length such as `12h`. */
    rotation: z.union([z.literal('daily'), z.literal('weekly'), duration]).default('weekly'),
  })
  .refine((l) => rotationMs(l.rotation) > 0, { path: ['rotation'], message: 'a shift must be longer than 0' });

const override = z
  .strictObject({ member: z.string().min(1), start: instant, end: instant })
  .refine((o) => Date.parse(o.end) > Date.parse(o.start), { path: ['end'], message: 'an override must end after it starts' });

const schedule = z.strictObject({
  name: z.string().min(1),
  /** Later layers override earlier ones while they have someone on call. */
  layers: z.array(layer).min(1),
  /** Someone else on call for a time span; beats every layer. */
  overrides: z.array(override).default([]),
});

const target = z.union([z.strictObject({ receiver: z.string().min(1) }), z.strictObject({ schedule: z.string().min(1) })]);

const level = z.strictObject({
  /** Paged together when this level is reached. */
  targets: z.array(target).min(1),
  /** Not acknowledged this long after the page: the next level is paged. */
  escalate_after: duration.default('5m'),
});

const policy = z.strictObject({
  name: z.string().min(1),
  levels: z.array(level).min(1),
  /** After the last level, start over from the first this many times. */
  repeat: z.number().int().min(0).max(100).default(0),
  /** Paged when a level's schedules have nobody on call (and it names no receiver). */
  nobody_on_call_receiver: z.string().min(1).optional(),
});

export const oncallConfigSchema = z
  .strictObject({
    schedules: z.array(schedule).default([]),
    escalation_policies: z.array(policy).default([]),
  })
  .prefault({});

export type OncallConfig = z.infer<typeof oncallConfigSchema>;
export type ScheduleConfig = z.infer<typeof schedule>;
export type PolicyConfig = z.infer<typeof policy>;

export function rotationMs(r: string): number {
  if (r === 'daily') return 24 * 3600_000;
  if (r === 'weekly') return 7 * 24 * 3600_000;
  return parseDurationMs(r) ?? 0;
}

/** Cross-references: members and targets name receivers and schedules that exist. */
export function checkOncallRefs(c: OncallConfig, receivers: ReadonlySet<string>, addIssue: (path: (string | number)[], message: string) => void): void {
  const schedules = new Set<string>();
  c.schedules.forEach((s, i) => {
    if (schedules.has(s.name)) addIssue(['oncall', 'schedules', i, 'name'], `duplicate schedule "${s.name}"`);
    schedules.add(s.name);
    s.layers.forEach((l, j) =>
      l.members.forEach((m, k) => {
        if (!receivers.has(m)) addIssue(['oncall', 'schedules', i, 'layers', j, 'members', k], `undefined receiver "${m}"`);
      }),
    );
    s.overrides.forEach((o, j) => {
      if (!receivers.has(o.member)) addIssue(['oncall', 'schedules', i, 'overrides', j, 'member'], `undefined receiver "${o.member}"`);
    });
  });
  const policies = new Set<string>();
  c.escalation_policies.forEach((p, i) => {
    if (policies.has(p.name)) addIssue(['oncall', 'escalation_policies', i, 'name'], `duplicate escalation policy "${p.name}"`);
    policies.add(p.name);
    if (p.nobody_on_call_receiver !== undefined && !receivers.has(p.nobody_on_call_receiver)) {
      addIssue(['oncall', 'escalation_policies', i, 'nobody_on_call_receiver'], `undefined receiver "${p.nobody_on_call_receiver}"`);
    }
    p.levels.forEach((l, j) =>
      l.targets.forEach((t, k) => {
        const path = ['oncall', 'escalation_policies', i, 'levels', j, 'targets', k];
        if ('receiver' in t && !receivers.has(t.receiver)) addIssue(path, `undefined receiver "${t.receiver}"`);
        if ('schedule' in t && !schedules.has(t.schedule)) addIssue(path, `undefined schedule "${t.schedule}"`);
      }),
    );
  });
}

export function policyNames(c: OncallConfig): Set<string> {
  return new Set(c.escalation_policies.map((p) => p.name));
}
