/**
 * The Alertmanager v2 API subset Pharos serves: alerts with their suppression, and silences.
 * Shapes follow Alertmanager's OpenAPI spec so amtool-style clients and Grafana work. Reading needs
 * viewer, changing silences needs operator; the mounting server applies authMiddleware first.
 */
import { Router, json, type Request, type Response } from 'express';
import { z } from 'zod';
import { requireRole, type Principal } from '../../core/http/auth.js';
import { describeScope, matchersPinnedToScope, metricLabelsInScope } from '../../core/http/scope.js';
import type { Notifications } from '../notify/notifier.js';
import { SilenceError, silenceState, NO_END, type Silence } from '../notify/silences.js';
import type { MatchType } from '../notify/matchers.js';

const matcherBody = z.object({
  name: z.string().min(1),
  value: z.string(),
  isRegex: z.boolean(),
  isEqual: z.boolean().default(true),
});

const postableSilence = z.object({
  id: z.string().optional(),
  matchers: z.array(matcherBody).min(1),
  startsAt: z.iso.datetime({ offset: true }).optional(),
  endsAt: z.iso.datetime({ offset: true }).optional(),
  createdBy: z.string().min(1),
  comment: z.string().default(''),
  /** Pharos extension: the silence ends once nothing it matched still fires. */
  untilResolved: z.boolean().optional(),
});

function matchType(m: { isRegex: boolean; isEqual: boolean }): MatchType {
  return m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
}

export function gettableSilence(s: Silence, nowMs: number) {
  return {
    id: s.id,
    status: { state: silenceState(s, nowMs) },
    updatedAt: new Date(s.updatedAt).toISOString(),
    matchers: s.matchers.map((m) => ({ name: m.name, value: m.value, isRegex: m.type === '=~' || m.type === '!~', isEqual: m.type === '=' || m.type === '=~' })),
    startsAt: new Date(s.startsAt).toISOString(),
    endsAt: new Date(s.endsAt).toISOString(),
    createdBy: s.createdBy,
    comment: s.comment,
    ...(s.untilResolved ? { untilResolved: true } : {}),
  };
}

const scopeOf = (res: Response) => (res.locals.principal as Principal | undefined)?.scope;

/** A scoped token may only silence what it sees: matchers pinning `job` (and environment) to its scope. */
function outOfScope(res: Response, scope: Principal['scope']): void {
  res.status(403).json({
    status: 'error',
    errorType: 'forbidden',
    error: `this token may only silence alerts of ${describeScope(scope)}: pin them with ${[scope?.service ? 'job="<service>"' : '', scope?.environment ? 'deployment_environment="<environment>"' : ''].filter(Boolean).join(' and ')}`,
  });
}

function badRequest(res: Response, error: string): void {
  res.status(400).json({ status: 'error', errorType: 'bad_data', error });
}

export function alertsApiRouter(n: Notifications, clock: { now(): number } = { now: () => Date.now() }): Router {
  const r = Router();

  r.get('/api/v2/alerts', requireRole('viewer'), (req: Request, res: Response) => {
    const flag = (name: string, dflt: boolean) => (req.query[name] === undefined ? dflt : req.query[name] === 'true');
    const silenced = flag('silenced', true);
    const inhibited = flag('inhibited', true);
    const active = flag('active', true);
    const out = n
      .list()
      .filter((s) => (s.silencedBy.length ? silenced : true) && (s.inhibitedBy.length ? inhibited : true) && (s.state === 'active' ? active : true))
      // A scoped token sees alerts of its services and environments only (core/http/scope.ts).
      .filter((s) => metricLabelsInScope(scopeOf(res), s.alert.labels))
      .map((s) => ({
        labels: s.alert.labels,
        annotations: s.alert.annotations,
        startsAt: new Date(s.alert.startsAt).toISOString(),
        endsAt: new Date(s.alert.endsAt).toISOString(),
        updatedAt: new Date(s.updatedAt).toISOString(),
        generatorURL: s.alert.generatorURL,
        fingerprint: s.alert.fingerprint,
        receivers: s.receivers.map((name) => ({ name })),
        status: { state: s.state, silencedBy: s.silencedBy, inhibitedBy: s.inhibitedBy, mutedBy: s.mutedBy },
      }));
    res.json(out);
  });

  // Pharos extension: the config's recurring windows (read-only; they change with the config).
  r.get('/api/v2/time_intervals', requireRole('viewer'), (_req: Request, res: Response) => {
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    res.json(n.timeIntervalStatus().map((t) => ({ name: t.name, active: t.active, nextStart: iso(t.nextStartMs), nextEnd: iso(t.nextEndMs) })));
  });

  r.get('/api/v2/silences', requireRole('viewer'), (_req: Request, res: Response) => {
    const now = clock.now();
    res.json(n.silences.list().map((s) => gettableSilence(s, now)));
  });

  r.get('/api/v2/silence/:id', requireRole('viewer'), (req: Request, res: Response) => {
    const s = n.silences.get(String(req.params.id));
    if (!s) return void res.status(404).json({ status: 'error', errorType: 'not_found', error: 'no such silence' });
    res.json(gettableSilence(s, clock.now()));
  });

  r.post('/api/v2/silences', requireRole('operator'), json({ limit: '256kb' }), async (req: Request, res: Response) => {
    const parsed = postableSilence.safeParse(req.body);
    if (!parsed.success) return badRequest(res, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const b = parsed.data;
    const scope = scopeOf(res);
    const old = b.id !== undefined ? n.silences.get(b.id) : undefined;
    if (!matchersPinnedToScope(scope, b.matchers.map((m) => ({ name: m.name, type: matchType(m), value: m.value }))) || (old && !matchersPinnedToScope(scope, old.matchers))) {
      return outOfScope(res, scope);
    }
    // Updating means expiring the old one and creating a new one, as Alertmanager does.
    if (b.id !== undefined) {
      if (!n.silences.get(b.id)) return void res.status(404).json({ status: 'error', errorType: 'not_found', error: 'no such silence' });
      n.silences.expire(b.id);
    }
    const principal = res.locals.principal as Principal | undefined;
    try {
      const s = n.silences.create({
        matchers: b.matchers.map((m) => ({ name: m.name, type: matchType(m), value: m.value })),
        startsAt: b.startsAt !== undefined ? Date.parse(b.startsAt) : undefined,
        endsAt: b.endsAt !== undefined ? Date.parse(b.endsAt) : b.untilResolved ? NO_END : undefined,
        // Who created it is who the token says, with the free-text name kept beside it.
        createdBy: principal && !principal.anonymous && principal.name !== b.createdBy ? `${b.createdBy} (${principal.name})` : b.createdBy,
        comment: b.comment,
        untilResolved: b.untilResolved,
      });
      await n.silencesPersisted();
      res.json({ silenceID: s.id });
    } catch (err) {
      if (err instanceof SilenceError) return badRequest(res, err.message);
      throw err;
    }
  });

  r.delete('/api/v2/silence/:id', requireRole('operator'), async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const silence = n.silences.get(id);
    if (!silence) return void res.status(404).json({ status: 'error', errorType: 'not_found', error: 'no such silence' });
    if (!matchersPinnedToScope(scopeOf(res), silence.matchers)) return outOfScope(res, scopeOf(res));
    n.silences.expire(id);
    await n.silencesPersisted();
    res.status(200).json({});
  });

  return r;
}
