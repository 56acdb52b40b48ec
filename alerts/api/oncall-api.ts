/**
 * On-call through the API: who is on call now (`GET /api/v2/oncall`, viewer), and acknowledging
 * or taking ownership of an escalating alert (`POST /api/v2/alerts/{fingerprint}/ack|own`,
 * operator). Acting on an alert stops its escalation; the record says who did it, taken from the
 * caller's token rather than the request body.
 */
import { Router, type Request, type Response } from 'express';
import { requireRole, type Principal } from '../../core/http/auth.js';
import type { Notifications } from '../notify/notifier.js';
import type { EscalationRecord } from '../oncall/escalation.js';
import { onCallAt } from '../oncall/schedule.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function escalationView(r: EscalationRecord) {
  return {
    fingerprint: r.fingerprint,
    alertname: r.alert.labels.alertname ?? '',
    labels: r.alert.labels,
    policy: r.policy,
    startsAt: iso(r.episode),
    step: r.step,
    nextEscalationAt: iso(r.nextAtMs),
    acknowledgedBy: r.acknowledgedBy,
    acknowledgedAt: iso(r.acknowledgedAtMs),
    owner: r.owner,
    resolvedAt: iso(r.resolvedAtMs),
    pages: r.pages.map((p) => ({ step: p.step, level: p.level, receivers: p.receivers, at: iso(p.atMs), ...(p.nobodyOnCall ? { nobodyOnCall: true } : {}) })),
  };
}

export function oncallApiRouter(n: Notifications, clock: { now(): number } = { now: () => Date.now() }): Router {
  const r = Router();

  r.get('/api/v2/oncall', requireRole('viewer'), (_req: Request, res: Response) => {
    const now = clock.now();
    res.json({
      schedules: [...n.schedules.values()].map((s) => {
        const c = onCallAt(s, now);
        return { name: s.name, onCall: c ? { receiver: c.member, source: c.source, until: iso(c.untilMs) } : null };
      }),
      escalations: n.escalations.list().map(escalationView),
    });
  });

  const act = (what: 'acknowledge' | 'own') => async (req: Request, res: Response) => {
    const fp = String(req.params.fingerprint);
    const principal = res.locals.principal as Principal | undefined;
    const by = principal?.name ?? 'anonymous';
    const rec = what === 'own' ? await n.escalations.own(fp, by) : await n.escalations.acknowledge(fp, by);
    if (!rec) {
      res.status(404).json({ status: 'error', errorType: 'not_found', error: `no escalation for alert ${fp}: only alerts routed to an escalation policy are acknowledged` });
      return;
    }
    res.json(escalationView(rec));
  };
  r.post('/api/v2/alerts/:fingerprint/ack', requireRole('operator'), act('acknowledge'));
  r.post('/api/v2/alerts/:fingerprint/own', requireRole('operator'), act('own'));
  return r;
}
