import { Fragment, useCallback, useState } from 'react';
import { useWhoami } from '../../app/useWhoami.js';
import { Button } from '../../ui/Button.js';
import { cx } from '../../ui/cx.js';
import { ErrorState } from '../../ui/ErrorState.js';
import { formatAgo, formatClock } from '../../ui/format-time.js';
import { hasRole } from '../../ui/roles.js';
import layout from '../../ui/PageLayout.module.css';
import { StateMessage } from '../../ui/StateMessage.js';
import { useAsync } from '../../ui/useAsync.js';
import { useSearchParam } from '../../ui/useSearchParam.js';
import { acknowledge, expireSilence, fetchAlerts, fetchHistory, matcherText, notifiedFor, type AlertsSnapshot, type Labels, type RuleAlert } from './api.js';
import { SilenceForm } from './SilenceForm.js';
import { useAlertStream } from './useAlertStream.js';
import styles from './AlertsPage.module.css';

/** A safety net only: state changes arrive over the live socket (useAlertStream). */
const REFRESH_MS = 30_000;
const SETTLE_MS = 2000;
const TABS = [
  { id: 'active', label: 'Firing & pending' },
  { id: 'silences', label: 'Silences' },
  { id: 'history', label: 'History' },
] as const;
type Tab = (typeof TABS)[number]['id'];

/** `/alerts`: what fires now (silence or acknowledge it there), the silences, and what happened before. */
export function AlertsPage() {
  const [tabParam, setTab] = useSearchParam('tab');
  const tab: Tab = TABS.some((t) => t.id === tabParam) ? (tabParam as Tab) : 'active';
  const snapshot = useAsync((signal) => fetchAlerts(signal), [], REFRESH_MS);
  const stream = useAlertStream(snapshot.reload);
  // After a silence or acknowledgement the notifier marks alerts on its next pass, which is no
  // state change the stream announces: read again once it had time to.
  const reloadAfterAction = useCallback(() => {
    snapshot.reload();
    setTimeout(snapshot.reload, SETTLE_MS);
  }, [snapshot.reload]);
  const active = (snapshot.value?.rules ?? []).filter((a) => a.state === 'firing' || a.state === 'pending');
  const liveSilences = (snapshot.value?.silences ?? []).filter((s) => s.status.state !== 'expired');

  return (
    <section className={layout.page} aria-labelledby="alerts-title">
      <div className={layout.toolbar}>
        <h1 id="alerts-title" className={layout.title}>
          Alerts
        </h1>
        <div className={layout.tabs} role="tablist" aria-label="Alert views">
          {TABS.map((t) => (
            <button
              key={t.id}
              type="button"
              role="tab"
              id={`tab-${t.id}`}
              aria-selected={tab === t.id}
              aria-controls={`panel-${t.id}`}
              className={layout.tab}
              onClick={() => setTab(t.id === 'active' ? '' : t.id)}
              onKeyDown={(e) => {
                // Arrow keys move between tabs, as in any tab list.
                const i = TABS.findIndex((x) => x.id === tab);
                const next = e.key === 'ArrowRight' ? TABS[(i + 1) % TABS.length] : e.key === 'ArrowLeft' ? TABS[(i + TABS.length - 1) % TABS.length] : undefined;
                if (next) {
                  setTab(next.id === 'active' ? '' : next.id);
                  document.getElementById(`tab-${next.id}`)?.focus();
                }
              }}
            >
              {t.label}
              {t.id === 'active' && snapshot.value ? ` (${active.length})` : t.id === 'silences' && snapshot.value ? ` (${liveSilences.length})` : ''}
            </button>
          ))}
        </div>
        <span className={layout.status} aria-live="polite" data-stream={stream} title={stream === 'live' ? 'Changes arrive as they happen' : 'Live updates unavailable: refreshing every 30 s'}>
          {stream === 'live' ? 'live · ' : ''}
          {snapshot.loading && !snapshot.value ? 'loading…' : snapshot.error ? `refresh failed: ${snapshot.error.message}` : snapshot.loadedAt ? `updated ${new Date(snapshot.loadedAt).toLocaleTimeString()}` : ''}
        </span>
      </div>
      <div className={layout.card} role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'history' ? (
          <History />
        ) : snapshot.error && !snapshot.value ? (
          <ErrorState error={snapshot.error} what="alerts" onRetry={snapshot.reload} />
        ) : !snapshot.value ? (
          <div className={layout.loading} aria-busy="true">
            Loading alerts…
          </div>
        ) : tab === 'active' ? (
          <ActiveAlerts alerts={active} snapshot={snapshot.value} reload={reloadAfterAction} />
        ) : (
          <Silences snapshot={snapshot.value} reload={reloadAfterAction} />
        )}
      </div>
    </section>
  );
}

function ActiveAlerts({ alerts, snapshot, reload }: { alerts: RuleAlert[]; snapshot: AlertsSnapshot; reload: () => void }) {
  const me = useWhoami();
  const canAct = hasRole(me?.role, 'operator');
  const [silencing, setSilencing] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [actionError, setActionError] = useState<string>();
  if (alerts.length === 0)
    return (
      <StateMessage title="Nothing is firing">
        <p>No alerting rule is pending or firing. {snapshot.silences.some((s) => s.status.state === 'active') ? 'Some silences are active.' : ''}</p>
      </StateMessage>
    );
  const sorted = [...alerts].sort((a, b) => (a.state === b.state ? b.activeAt - a.activeAt : a.state === 'firing' ? -1 : 1));
  return (
    <>
      {notice && (
        <div className={styles.notice} role="status">
          {notice}
        </div>
      )}
      {actionError && (
        <div className={styles.notice} role="alert">
          <span className={layout.errorText}>{actionError}</span>
        </div>
      )}
      <div className={styles.tableBox}>
        <table className={layout.table} aria-label="Active alerts">
          <thead>
            <tr>
              <th>State</th>
              <th>Alert</th>
              <th>Labels</th>
              <th className={layout.num}>Value</th>
              <th>Since</th>
              <th>
                <span className={layout.visuallyHidden}>Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((a) => {
              const n = notifiedFor(a, snapshot.notified);
              const silenced = (n?.status.silencedBy.length ?? 0) > 0;
              const esc = snapshot.escalations?.find((e) => e.fingerprint === (n?.fingerprint ?? a.fingerprint));
              const key = `${a.group}/${a.fingerprint}`;
              return (
                <Fragment key={key}>
                  <tr data-alertname={a.labels.alertname ?? a.rule} data-state={a.state} data-silenced={silenced}>
                    <td>
                      <span className={cx(layout.badge, a.state === 'firing' ? layout.badgeDanger : layout.badgeWarn)}>{a.state}</span>{' '}
                      {silenced && <span className={layout.badge} title={`Silenced by ${n!.status.silencedBy.join(', ')}`}>silenced</span>}
                      {esc?.acknowledgedBy && <span className={layout.badge}>acked by {esc.acknowledgedBy}</span>}
                    </td>
                    <td>
                      <strong>{a.labels.alertname ?? a.rule}</strong>
                      {a.annotations.summary && <div className={styles.summary}>{a.annotations.summary}</div>}
                    </td>
                    <td>
                      <LabelList labels={a.labels} />
                    </td>
                    <td className={layout.num}>{Number.isFinite(a.value) ? Number(a.value.toPrecision(4)) : String(a.value)}</td>
                    <td title={formatClock(a.activeAt)}>{formatAgo(a.activeAt)}</td>
                    <td>
                      <div className={styles.actions}>
                        {canAct && esc && !esc.acknowledgedBy && (
                          <Button
                            onClick={() => {
                              setActionError(undefined);
                              acknowledge(esc.fingerprint).then(
                                () => (setNotice(`Acknowledged ${a.labels.alertname ?? a.rule}: its escalation stops.`), reload()),
                                (err: Error) => setActionError(err.message),
                              );
                            }}
                          >
                            Acknowledge
                          </Button>
                        )}
                        {canAct && (
                          <Button onClick={() => setSilencing(silencing === key ? undefined : key)} aria-expanded={silencing === key} disabled={silenced}>
                            Silence…
                          </Button>
                        )}
                      </div>
                    </td>
                  </tr>
                  {silencing === key && (
                    <tr>
                      <td colSpan={6} style={{ padding: 0 }}>
                        <SilenceForm
                          labels={a.labels}
                          defaultAuthor={me?.name ?? ''}
                          onCancel={() => setSilencing(undefined)}
                          onDone={(id) => {
                            setSilencing(undefined);
                            setNotice(`Silence ${id} created: matching alerts notify nobody until it ends.`);
                            reload();
                          }}
                        />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}

function Silences({ snapshot, reload }: { snapshot: AlertsSnapshot; reload: () => void }) {
  const canAct = hasRole(useWhoami()?.role, 'operator');
  const [showExpired, setShowExpired] = useState(false);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const list = snapshot.silences
    .filter((s) => showExpired || s.status.state !== 'expired')
    .sort((a, b) => (a.status.state === b.status.state ? Date.parse(b.startsAt) - Date.parse(a.startsAt) : a.status.state === 'expired' ? 1 : -1));
  return (
    <>
      <div className={layout.cardHeader}>
        <label className={layout.field}>
          <input type="checkbox" checked={showExpired} onChange={(e) => setShowExpired(e.target.checked)} /> Show expired
        </label>
        {error && (
          <span className={layout.errorText} role="alert">
            {error}
          </span>
        )}
      </div>
      {list.length === 0 ? (
        <StateMessage title="No silences">
          <p>Create one from a firing alert: its labels become the silence's matchers.</p>
        </StateMessage>
      ) : (
        <div className={styles.tableBox}>
          <table className={layout.table} aria-label="Silences">
            <thead>
              <tr>
                <th>State</th>
                <th>Matchers</th>
                <th>Ends</th>
                <th>Created by</th>
                <th>Comment</th>
                <th>
                  <span className={layout.visuallyHidden}>Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((s) => (
                <tr key={s.id} data-silence={s.id} data-state={s.status.state}>
                  <td>
                    <span className={cx(layout.badge, s.status.state === 'active' && layout.badgeOk)}>{s.status.state}</span>
                  </td>
                  <td>
                    <div className={layout.labels}>
                      {s.matchers.map((m) => (
                        <span key={matcherText(m)} className={layout.label}>
                          {matcherText(m)}
                        </span>
                      ))}
                    </div>
                  </td>
                  <td title={formatClock(Date.parse(s.endsAt))}>{s.untilResolved ? 'when resolved' : formatAgo(Date.parse(s.endsAt))}</td>
                  <td>{s.createdBy}</td>
                  <td>{s.comment || <span className={layout.muted}>—</span>}</td>
                  <td>
                    <div className={styles.actions}>
                      {canAct && s.status.state !== 'expired' && (
                        <Button
                          disabled={busy === s.id}
                          onClick={() => {
                            setBusy(s.id);
                            setError(undefined);
                            expireSilence(s.id).then(reload, (err: Error) => setError(err.message)).finally(() => setBusy(undefined));
                          }}
                        >
                          {busy === s.id ? 'Expiring…' : 'Expire'}
                        </Button>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

const HISTORY_RANGES = [
  { id: '1h', label: 'Last hour' },
  { id: '24h', label: 'Last 24 hours' },
  { id: '7d', label: 'Last 7 days' },
] as const;

function History() {
  const [rangeParam, setRange] = useSearchParam('hrange');
  const [alertname, setAlertname] = useSearchParam('alertname');
  const range = HISTORY_RANGES.some((r) => r.id === rangeParam) ? rangeParam : '24h';
  const { value, loading, error, reload } = useAsync((signal) => fetchHistory(range, alertname, signal), [range, alertname], REFRESH_MS);
  useAlertStream(reload);
  return (
    <>
      <div className={layout.cardHeader}>
        <select className={layout.select} value={range} onChange={(e) => setRange(e.target.value === '24h' ? '' : e.target.value)} aria-label="History range">
          {HISTORY_RANGES.map((r) => (
            <option key={r.id} value={r.id}>
              {r.label}
            </option>
          ))}
        </select>
        <input className={layout.input} type="search" placeholder="alert name" defaultValue={alertname} aria-label="Filter by alert name" onKeyDown={(e) => e.key === 'Enter' && setAlertname(e.currentTarget.value.trim())} />
        <span className={layout.status}>{loading ? 'loading…' : value ? `${value.events.length} events` : ''}</span>
      </div>
      {error && !value ? (
        <ErrorState error={error} what="the alert history" onRetry={reload} />
      ) : !value ? (
        <div className={layout.loading} aria-busy="true">
          Reading alert_events…
        </div>
      ) : value.events.length === 0 ? (
        <StateMessage title="No alert events">
          <p>No alert changed state or notified anyone in this range.</p>
        </StateMessage>
      ) : (
        <div className={styles.tableBox}>
          <table className={layout.table} aria-label="Alert history">
            <thead>
              <tr>
                <th>Time</th>
                <th>Alert</th>
                <th>Event</th>
                <th>Labels</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {value.events.map((e, i) => (
                <tr key={`${e.at}-${e.fingerprint}-${i}`}>
                  <td className={layout.mono}>{formatClock(Date.parse(e.at))}</td>
                  <td>{e.alertname}</td>
                  <td>
                    {e.kind === 'state_change' ? (
                      <span>
                        {e.previousState || '—'} → <strong>{e.state}</strong>
                      </span>
                    ) : (
                      <span>
                        notified <strong>{e.receiver}</strong> ({e.state})
                      </span>
                    )}
                  </td>
                  <td>
                    <LabelList labels={e.labels} />
                  </td>
                  <td>
                    {e.kind === 'notification' ? (
                      <span className={cx(layout.badge, e.notificationStatus === 'sent' ? layout.badgeOk : layout.badgeDanger)} title={e.error || undefined}>
                        {e.notificationStatus}
                      </span>
                    ) : (
                      <span className={layout.mono}>value {Number(e.value.toPrecision(4))}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function LabelList({ labels }: { labels: Labels }) {
  return (
    <div className={layout.labels}>
      {Object.entries(labels)
        .filter(([k]) => k !== 'alertname')
        .map(([k, v]) => (
          <span key={k} className={layout.label}>
            {k}={v}
          </span>
        ))}
    </div>
  );
}
