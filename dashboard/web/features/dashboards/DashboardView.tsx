import { useCallback, useEffect, useState, type KeyboardEvent } from 'react';
import { navigate, onLinkClick } from '../../app/useRoute.js';
import { useWhoami } from '../../app/useWhoami.js';
import { Button } from '../../ui/Button.js';
import { ErrorState } from '../../ui/ErrorState.js';
import { hasRole } from '../../ui/roles.js';
import layout from '../../ui/PageLayout.module.css';
import { StateMessage } from '../../ui/StateMessage.js';
import { useAsync } from '../../ui/useAsync.js';
import { useSearchParam } from '../../ui/useSearchParam.js';
import { createDashboard, deleteDashboard, downloadModel, getDashboard, updateDashboard } from './api.js';
import { JsonEditor } from './JsonEditor.js';
import { REFRESHES, rangeIdOf, TIME_RANGES, type DashboardModel } from './model.js';
import { Panel } from './Panel.js';
import { VariablePicker } from './VariablePicker.js';
import styles from './DashboardsPage.module.css';

/** One dashboard: variables, time range and refresh in the URL; edit, save, clone, export, delete. */
export function DashboardView({ id }: { id: string }) {
  const doc = useAsync((signal) => getDashboard(id, signal), [id]);
  const [model, setModel] = useState<DashboardModel>();
  const [version, setVersion] = useState(0);
  const [dirty, setDirty] = useState(false);
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState<string>();
  const [message, setMessage] = useState<{ text: string; error?: boolean }>();
  const [rangeParam, setRange] = useSearchParam('range');
  const [refreshParam, setRefresh] = useSearchParam('refresh');
  const [tick, setTick] = useState(0);

  useEffect(() => {
    if (doc.value) {
      setModel(doc.value.model);
      setVersion(doc.value.version);
      setDirty(false);
    }
  }, [doc.value]);

  const rangeId = TIME_RANGES.some((r) => r.id === rangeParam) ? rangeParam : rangeIdOf(model?.time.from);
  const range = TIME_RANGES.find((r) => r.id === rangeId)!;
  const refreshId = REFRESHES.some((r) => r.id === refreshParam) ? refreshParam : (model?.refresh ?? 'off');
  const refreshMs = REFRESHES.find((r) => r.id === refreshId)?.ms ?? 0;

  useEffect(() => {
    if (!refreshMs) return;
    const t = setInterval(() => setTick((n) => n + 1), refreshMs);
    return () => clearInterval(t);
  }, [refreshMs]);

  const vars = useVariableValues(model);
  const canWrite = hasRole(useWhoami()?.role, 'operator');
  // Built in, or this caller may only look.
  const readOnly = (doc.value?.readOnly ?? true) || !canWrite;

  const act = async (what: string, work: () => Promise<void>) => {
    setBusy(what);
    setMessage(undefined);
    try {
      await work();
    } catch (err) {
      setMessage({ text: (err as Error).message, error: true });
    } finally {
      setBusy(undefined);
    }
  };
  const save = () =>
    act('save', async () => {
      const saved = await updateDashboard(id, model!, version);
      setVersion(saved.version);
      setModel(saved.model);
      setDirty(false);
      setMessage({ text: `Saved as version ${saved.version}.` });
    });
  const clone = () =>
    act('clone', async () => {
      const copy = await createDashboard({ ...model!, title: `${model!.title} (copy)` });
      navigate(`/dashboards?id=${encodeURIComponent(copy.id)}`);
    });
  const remove = () => {
    if (!window.confirm(`Delete the dashboard “${model!.title}”? This cannot be undone.`)) return;
    void act('delete', async () => {
      await deleteDashboard(id);
      navigate('/dashboards');
    });
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 's' && !readOnly && dirty) {
      e.preventDefault();
      void save();
    }
  };

  if (doc.error && !doc.value)
    return (
      <section className={layout.page}>
        <div className={layout.card}>
          <ErrorState error={doc.error} what="this dashboard" onRetry={doc.reload} />
        </div>
        <a href="/dashboards" onClick={onLinkClick}>
          All dashboards
        </a>
      </section>
    );
  if (!model)
    return (
      <section className={layout.page}>
        <div className={`${layout.card} ${layout.loading}`} aria-busy="true">
          Loading dashboard…
        </div>
      </section>
    );

  return (
    <section className={layout.page} aria-labelledby="dashboard-title" onKeyDown={onKeyDown}>
      <div className={layout.toolbar}>
        <a href="/dashboards" onClick={onLinkClick} className={layout.muted}>
          Dashboards /
        </a>
        {readOnly ? (
          <h1 id="dashboard-title" className={layout.title}>
            {model.title} <span className={layout.badge}>read-only</span>
          </h1>
        ) : (
          <h1 id="dashboard-title" className={layout.title}>
            <input
              className={layout.input}
              aria-label="Dashboard title"
              value={model.title}
              onChange={(e) => {
                setModel({ ...model, title: e.target.value });
                setDirty(true);
              }}
            />
          </h1>
        )}
        {model.variables.map((v) => (
          <VariablePicker key={v.name} variable={v} value={vars.values[v.name] ?? ''} onChange={vars.set(v.name)} />
        ))}
        <select className={layout.select} aria-label="Time range" value={rangeId} onChange={(e) => setRange(e.target.value === rangeIdOf(model.time.from) ? '' : e.target.value)}>
          {TIME_RANGES.map((r) => (
            <option key={r.id} value={r.id}>
              {r.label}
            </option>
          ))}
        </select>
        <label className={layout.field}>
          Refresh
          <select className={layout.select} aria-label="Auto-refresh" value={refreshId} onChange={(e) => setRefresh(e.target.value === model.refresh ? '' : e.target.value)}>
            {REFRESHES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <Button onClick={() => setTick((n) => n + 1)} title="Reload every panel">
          Refresh
        </Button>
        <span className={layout.status} aria-live="polite">
          {busy ? `${busy}…` : dirty ? 'unsaved changes' : !canWrite ? 'read-only for your role' : readOnly ? 'built in: clone it to change it' : `version ${version}`}
        </span>
      </div>
      <div className={layout.toolbar}>
        {!readOnly && (
          <Button variant="primary" onClick={() => void save()} disabled={!dirty || Boolean(busy)} title="Save (Ctrl+S)">
            Save
          </Button>
        )}
        {canWrite && (
          <Button onClick={() => void clone()} disabled={Boolean(busy)}>
            Clone
          </Button>
        )}
        <Button onClick={() => setEditing(!editing)} aria-expanded={editing}>
          {editing ? 'Close JSON' : readOnly ? 'View JSON' : 'Edit JSON'}
        </Button>
        <Button onClick={() => downloadModel(model)}>Export JSON</Button>
        {!readOnly && (
          <Button variant="ghost" onClick={remove} disabled={Boolean(busy)}>
            Delete
          </Button>
        )}
        {message && (
          <span className={message.error ? layout.errorText : styles.notice} role={message.error ? 'alert' : 'status'}>
            {message.text}
          </span>
        )}
      </div>
      {editing && (
        <JsonEditor
          model={model}
          readOnly={readOnly}
          onApply={(next) => {
            setModel(next);
            setDirty(true);
            setEditing(false);
          }}
        />
      )}
      {model.description && <p className={styles.description}>{model.description}</p>}
      {model.panels.length === 0 ? (
        <div className={layout.card}>
          <StateMessage title="No panels">
            <p>Edit the JSON model to add time series, stat, table or logs panels.</p>
          </StateMessage>
        </div>
      ) : (
        <div className={styles.grid}>
          {model.panels.map((p) => (
            <Panel key={p.id} panel={p} vars={vars.values} rangeSeconds={range.seconds} tick={tick} live={refreshId === 'live'} />
          ))}
        </div>
      )}
    </section>
  );
}

/** Variable values live in the URL as `var-<name>`, as Grafana spells them, so a link shares the view. */
function useVariableValues(model: DashboardModel | undefined): { values: Record<string, string>; set: (name: string) => (v: string, fromUser: boolean) => void } {
  const [, force] = useState(0);
  useEffect(() => {
    const onPop = () => force((n) => n + 1);
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const params = new URLSearchParams(window.location.search);
  const values: Record<string, string> = {};
  for (const v of model?.variables ?? []) values[v.name] = params.get(`var-${v.name}`) ?? '';
  const set = useCallback(
    (name: string) => (v: string, fromUser: boolean) => {
      const url = new URL(window.location.href);
      url.searchParams.set(`var-${name}`, v);
      // A default picked by the page replaces the entry: Back should not stop at "no host yet".
      if (fromUser) window.history.pushState(null, '', url);
      else window.history.replaceState(null, '', url);
      force((n) => n + 1);
    },
    [],
  );
  return { values, set };
}
