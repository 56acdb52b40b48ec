/**
 * The route tree (Alertmanager `dispatch/route.go`): an alert goes down the first matching child,
 * and on to later siblings only while the matched child has `continue: true`; a route no child
 * matches takes the alert itself. Children inherit unset settings from their parent,
 * except mute/active_time_intervals, which apply to the route that names them only.
 */
import type { Labels } from '../model.js';
import type { RouteConfig } from './config.js';
import { durationMs } from '../rules/duration.js';
import { formatLabels, formatMatchers, matchesAll, parseMatchers, type CompiledMatcher } from './matchers.js';

export interface RouteOpts {
  receiver: string;
  /** 'all' for group_by: ['...']. */
  groupBy: readonly string[] | 'all';
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  /** On-call escalation policy paging this route's alerts (inherited). */
  escalationPolicy?: string | undefined;
  /** Time interval names; set per route, never inherited (Alertmanager `dispatch/route.go`). */
  muteTimeIntervals: readonly string[];
  activeTimeIntervals: readonly string[];
}

const DEFAULTS = { groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 4 * 3600_000 };

export class Route {
  readonly matchers: readonly CompiledMatcher[];
  readonly routes: readonly Route[];
  readonly continue: boolean;
  readonly key: string;
  readonly opts: RouteOpts;

  constructor(cfg: RouteConfig, parent?: Route) {
    this.matchers = (cfg.matchers ?? []).flatMap(parseMatchers);
    this.continue = cfg.continue ?? false;
    const p = parent?.opts;
    const groupBy = cfg.group_by ? (cfg.group_by.includes('...') ? 'all' : [...cfg.group_by].sort()) : (p?.groupBy ?? []);
    this.opts = {
      receiver: cfg.receiver ?? p?.receiver ?? '',
      groupBy,
      groupWaitMs: cfg.group_wait !== undefined ? durationMs(cfg.group_wait) : (p?.groupWaitMs ?? DEFAULTS.groupWaitMs),
      groupIntervalMs: cfg.group_interval !== undefined ? durationMs(cfg.group_interval) : (p?.groupIntervalMs ?? DEFAULTS.groupIntervalMs),
      repeatIntervalMs: cfg.repeat_interval !== undefined ? durationMs(cfg.repeat_interval) : (p?.repeatIntervalMs ?? DEFAULTS.repeatIntervalMs),
      escalationPolicy: cfg.escalation_policy ?? p?.escalationPolicy,
      muteTimeIntervals: cfg.mute_time_intervals ?? [],
      activeTimeIntervals: cfg.active_time_intervals ?? [],
    };
    this.key = parent ? `${parent.key}/${formatMatchers(this.matchers)}` : '{}';
    const children = (cfg.routes ?? []).map((c) => new Route(c, this));
    // Siblings with equal matchers would share a key, and so their groups and notification log entries.
    const seen = new Map<string, number>();
    for (const c of children) {
      const n = seen.get(c.key) ?? 0;
      seen.set(c.key, n + 1);
      if (n > 0) (c as { key: string }).key = `${c.key}/${n}`;
    }
    this.routes = children;
  }

  /** The routes that take an alert with these labels, in tree order. */
  match(labels: Labels): Route[] {
    if (!matchesAll(this.matchers, labels)) return [];
    const out: Route[] = [];
    for (const child of this.routes) {
      const m = child.match(labels);
      out.push(...m);
      if (m.length > 0 && !child.continue) break;
    }
    return out.length > 0 ? out : [this];
  }

  groupLabels(labels: Labels): Record<string, string> {
    if (this.opts.groupBy === 'all') return { ...labels };
    const out: Record<string, string> = {};
    for (const n of this.opts.groupBy) {
      const v = labels[n];
      if (v !== undefined && v !== '') out[n] = v;
    }
    return out;
  }

  groupKey(groupLabels: Labels): string {
    return `${this.key}:${formatLabels(groupLabels)}`;
  }
}
