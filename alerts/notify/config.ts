/**
 * The Alertmanager-style notification config, plugged into the main config as `alerts.notify`.
 * Key names follow alertmanager.yml so existing configs carry over. Durations stay strings in the
 * config ('30s', '5m') and are read with durationMs(). Secrets come either inline or from a
 * `*_file` (a mounted secret); they are read when receivers are built and never logged.
 */
import { z } from 'zod';
import { parseDurationMs as parseDuration } from '../rules/duration.js';
import { parseMatchers } from './matchers.js';
import { checkOncallRefs, oncallConfigSchema, policyNames } from '../oncall/config.js';
import { timeIntervalsSchema } from './time-intervals.js';

const duration = z.string().refine((s) => parseDuration(s) !== undefined, {
  error: (i) => `invalid duration "${String(i.input)}": expected e.g. 30s, 5m, 1h30m`,
});

const matcher = z.string().superRefine((s, ctx) => {
  try {
    parseMatchers(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'invalid label name');

export interface RouteConfig {
  receiver?: string | undefined;
  /** Label names, or ['...'] to group by all labels. */
  group_by?: string[] | undefined;
  group_wait?: string | undefined;
  group_interval?: string | undefined;
  repeat_interval?: string | undefined;
  matchers?: string[] | undefined;
  continue?: boolean | undefined;
  routes?: RouteConfig[] | undefined;
  /** Pages the alerts of this route through an on-call escalation policy (`oncall.escalation_policies`). */
  escalation_policy?: string | undefined;
  /** Names from `time_intervals`: no notifications while inside one. Not inherited (as in Alertmanager). */
  mute_time_intervals?: string[] | undefined;
  /** Names from `time_intervals`: notifications only while inside one. Not inherited (as in Alertmanager). */
  active_time_intervals?: string[] | undefined;
}

export const routeSchema: z.ZodType<RouteConfig> = z.lazy(() =>
  z.strictObject({
    receiver: z.string().min(1).optional(),
    group_by: z
      .array(z.union([z.literal('...'), labelName]))
      .refine((g) => !g.includes('...') || g.length === 1, { message: "'...' must be the only entry of group_by" })
      .optional(),
    group_wait: duration.optional(),
    group_interval: duration.optional(),
    repeat_interval: duration.optional(),
    matchers: z.array(matcher).optional(),
    continue: z.boolean().optional(),
    routes: z.array(routeSchema).optional(),
    escalation_policy: z.string().min(1).optional(),
    mute_time_intervals: z.array(z.string().min(1)).optional(),
    active_time_intervals: z.array(z.string().min(1)).optional(),
  }),
);

/** Exactly one of the inline value and the `_file` variant. */
function oneOf<T extends Record<string, unknown>>(a: keyof T & string, b: keyof T & string, required: boolean) {
  return (v: T, ctx: z.RefinementCtx) => {
    const n = (v[a] !== undefined ? 1 : 0) + (v[b] !== undefined ? 1 : 0);
    if (n > 1 || (required && n === 0)) {
      ctx.addIssue({ code: 'custom', path: [a], message: `set exactly one of ${a}, ${b}` });
    }
  };
}

const webhookConfig = z
  .strictObject({
    url: z.url().optional(),
    url_file: z.string().min(1).optional(),
    send_resolved: z.boolean().default(true),
    /** 0: no limit. More alerts than this are cut and counted in `truncatedAlerts`. */
    max_alerts: z.number().int().min(0).default(0),
    timeout: duration.default('10s'),
  })
  .superRefine(oneOf('url', 'url_file', true));

const slackConfig = z
  .strictObject({
    api_url: z.url().optional(),
    api_url_file: z.string().min(1).optional(),
    channel: z.string().optional(),
    username: z.string().optional(),
    title: z.string().optional(),
    text: z.string().optional(),
    send_resolved: z.boolean().default(false),
    timeout: duration.default('10s'),
  })
  .superRefine(oneOf('api_url', 'api_url_file', true));

export const PAGERDUTY_EVENTS_V2_URL = 'https://events.pagerduty.com/v2/enqueue';

const pagerdutyConfig = z
  .strictObject({
    routing_key: z.string().min(1).optional(),
    routing_key_file: z.string().min(1).optional(),
    url: z.url().default(PAGERDUTY_EVENTS_V2_URL),
    severity: z.enum(['critical', 'error', 'warning', 'info']).default('error'),
    /** Defaults to a summary built from the group's labels. */
    description: z.string().optional(),
    source: z.string().optional(),
    send_resolved: z.boolean().default(true),
    timeout: duration.default('10s'),
  })
  .superRefine(oneOf('routing_key', 'routing_key_file', true));

const emailConfig = z
  .strictObject({
    to: z.string().min(1),
    from: z.string().min(1),
    /** host:port of the SMTP server. */
    smarthost: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):\d{1,5}$/, 'expected host:port'),
    hello: z.string().default('localhost'),
    auth_username: z.string().optional(),
    auth_password: z.string().optional(),
    auth_password_file: z.string().optional(),
    /** STARTTLS is required unless this is false (then it is still used when offered). */
    require_tls: z.boolean().default(true),
    send_resolved: z.boolean().default(false),
    timeout: duration.default('10s'),
  })
  .superRefine(oneOf('auth_password', 'auth_password_file', false));

const receiver = z.strictObject({
  name: z.string().min(1),
  webhook_configs: z.array(webhookConfig).default([]),
  slack_configs: z.array(slackConfig).default([]),
  pagerduty_configs: z.array(pagerdutyConfig).default([]),
  email_configs: z.array(emailConfig).default([]),
});

const inhibitRule = z.strictObject({
  source_matchers: z.array(matcher).min(1),
  target_matchers: z.array(matcher).min(1),
  equal: z.array(labelName).default([]),
});

export const notifyConfigSchema = z
  .strictObject({
    route: routeSchema,
    receivers: z.array(receiver).min(1),
    inhibit_rules: z.array(inhibitRule).default([]),
    /** Named recurring windows (Alertmanager `time_intervals`) for routes' mute/active_time_intervals. */
    time_intervals: timeIntervalsSchema,
    /** Alertmanager's older name for `time_intervals` (before 0.24), accepted so old configs load. */
    mute_time_intervals: timeIntervalsSchema,
    /** Receives a group's notification when its own receiver has failed `fallback_after_failures` deliveries in a row. */
    fallback_receiver: z.string().min(1).optional(),
    fallback_after_failures: z.number().int().min(1).default(3),
    /** Shown to receivers as `externalURL` (links back to Pharos). */
    external_url: z.string().default('http://127.0.0.1:9093'),
    delivery: z
      .strictObject({
        /** How long one delivery may keep retrying before it counts as failed. */
        deadline: duration.default('1m'),
        initial_backoff: duration.default('500ms'),
        max_backoff: duration.default('30s'),
      })
      .prefault({}),
    /** A `silence_expiring` event is emitted this long before a silence ends. */
    silence_expiry_notice: duration.default('15m'),
    /** Where the notification log (what was sent to whom) is kept across restarts; none: memory only. */
    notification_log_file: z.string().optional(),
    /** Where silences are kept across restarts; none: memory only. */
    silences_file: z.string().optional(),
    /** How long notification log entries are kept. */
    notification_log_retention: duration.default('120h'),
    /** On-call schedules and escalation policies (alerts/oncall). */
    oncall: oncallConfigSchema,
    /** Where escalation state is kept across restarts when there is no Kafka; none: memory only. */
    escalation_state_file: z.string().optional(),
  })
  .superRefine((c, ctx) => {
    const names = new Set<string>();
    c.receivers.forEach((r, i) => {
      if (names.has(r.name)) ctx.addIssue({ code: 'custom', path: ['receivers', i, 'name'], message: `duplicate receiver "${r.name}"` });
      names.add(r.name);
    });
    if (!c.route.receiver) ctx.addIssue({ code: 'custom', path: ['route', 'receiver'], message: 'the root route needs a receiver' });
    if (c.route.matchers?.length) ctx.addIssue({ code: 'custom', path: ['route', 'matchers'], message: 'the root route must not have matchers' });
    const check = (r: RouteConfig, path: (string | number)[]) => {
      if (r.receiver !== undefined && !names.has(r.receiver)) {
        ctx.addIssue({ code: 'custom', path: [...path, 'receiver'], message: `undefined receiver "${r.receiver}"` });
      }
      r.routes?.forEach((c2, i) => check(c2, [...path, 'routes', i]));
    };
    const policies = policyNames(c.oncall);
    const checkPolicy = (r: RouteConfig, path: (string | number)[]) => {
      if (r.escalation_policy !== undefined && !policies.has(r.escalation_policy)) {
        ctx.addIssue({ code: 'custom', path: [...path, 'escalation_policy'], message: `undefined escalation policy "${r.escalation_policy}"` });
      }
      r.routes?.forEach((c2, i) => checkPolicy(c2, [...path, 'routes', i]));
    };
    const intervals = new Set<string>();
    for (const key of ['time_intervals', 'mute_time_intervals'] as const) {
      c[key].forEach((t, i) => {
        if (intervals.has(t.name)) ctx.addIssue({ code: 'custom', path: [key, i, 'name'], message: `duplicate time interval "${t.name}"` });
        intervals.add(t.name);
      });
    }
    for (const key of ['mute_time_intervals', 'active_time_intervals'] as const) {
      if (c.route[key]?.length) ctx.addIssue({ code: 'custom', path: ['route', key], message: `the root route must not have ${key}` });
    }
    const checkIntervals = (r: RouteConfig, path: (string | number)[]) => {
      for (const key of ['mute_time_intervals', 'active_time_intervals'] as const) {
        r[key]?.forEach((name, i) => {
          if (!intervals.has(name)) ctx.addIssue({ code: 'custom', path: [...path, key, i], message: `undefined time interval "${name}"` });
        });
      }
      r.routes?.forEach((c2, i) => checkIntervals(c2, [...path, 'routes', i]));
    };
    checkIntervals(c.route, ['route']);
    check(c.route, ['route']);
    checkPolicy(c.route, ['route']);
    checkOncallRefs(c.oncall, names, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
    if (c.fallback_receiver !== undefined && !names.has(c.fallback_receiver)) {
      ctx.addIssue({ code: 'custom', path: ['fallback_receiver'], message: `undefined receiver "${c.fallback_receiver}"` });
    }
  });

export type NotifyConfig = z.infer<typeof notifyConfigSchema>;
export type NotifyConfigInput = z.input<typeof notifyConfigSchema>;
export type ReceiverConfig = NotifyConfig['receivers'][number];
export type WebhookConfig = z.infer<typeof webhookConfig>;
export type SlackConfig = z.infer<typeof slackConfig>;
export type PagerdutyConfig = z.infer<typeof pagerdutyConfig>;
export type EmailConfig = z.infer<typeof emailConfig>;
export type InhibitRuleConfig = NotifyConfig['inhibit_rules'][number];
