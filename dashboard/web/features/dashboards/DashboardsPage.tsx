import { useRef, useState } from 'react';
import { useWhoami } from '../../app/useWhoami.js';
import { navigate, onLinkClick } from '../../app/useRoute.js';
import { Button } from '../../ui/Button.js';
import { cx } from '../../ui/cx.js';
import { ErrorState } from '../../ui/ErrorState.js';
import { formatAgo } from '../../ui/format-time.js';
import { hasRole } from '../../ui/roles.js';
import layout from '../../ui/PageLayout.module.css';
import { StateMessage } from '../../ui/StateMessage.js';
import { useAsync } from '../../ui/useAsync.js';
import { useSearchParam } from '../../ui/useSearchParam.js';
import { createDashboard, listDashboards } from './api.js';
import { DashboardView } from './DashboardView.js';
import { STARTER_MODEL } from './model.js';
import styles from './DashboardsPage.module.css';

/** `/dashboards`: the list, or one dashboard when the URL names it (`?id=`). */
export function DashboardsPage() {
  const [id] = useSearchParam('id');
  return id ? <DashboardView key={id} id={id} /> : <DashboardList />;
}

function DashboardList() {
  const { value, error, loading, reload } = useAsync((signal) => listDashboards(signal), []);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string>();
  const file = useRef<HTMLInputElement>(null);
  const canWrite = hasRole(useWhoami()?.role, 'operator');

  const create = async (model: unknown) => {
    setBusy(true);
    setActionError(undefined);
    try {
      const doc = await createDashboard(model);
      navigate(`/dashboards?id=${encodeURIComponent(doc.id)}`);
    } catch (err) {
      setActionError((err as Error).message);
      setBusy(false);
    }
  };

  const importFile = async (f: File | undefined) => {
    if (!f) return;
    let model: unknown;
    try {
      model = JSON.parse(await f.text());
    } catch (err) {
      setActionError(`${f.name} is not JSON: ${(err as Error).message}`);
      return;
    }
    await create(model);
  };

  return (
    <section className={layout.page} aria-labelledby="dashboards-title">
      <div className={layout.toolbar}>
        <h1 id="dashboards-title" className={layout.title}>
          Dashboards
        </h1>
        {canWrite && (
          <>
            <Button variant="primary" onClick={() => void create(STARTER_MODEL)} disabled={busy}>
              New dashboard
            </Button>
            <Button onClick={() => file.current?.click()} disabled={busy} title="Create a dashboard from an exported JSON model">
              Import JSON…
            </Button>
          </>
        )}
        <input ref={file} className={styles.hiddenInput} type="file" accept="application/json,.json" aria-label="Dashboard JSON file" onChange={(e) => void importFile(e.target.files?.[0]).finally(() => (e.target.value = ''))} />
        <span className={layout.status} aria-live="polite">
          {loading ? 'loading…' : busy ? 'creating…' : value ? `${value.length} dashboards` : ''}
        </span>
      </div>
      {actionError && (
        <p className={layout.errorText} role="alert">
          {actionError}
        </p>
      )}
      {error && !value ? (
        <div className={layout.card}>
          <ErrorState error={error} what="dashboards" onRetry={reload} />
        </div>
      ) : !value ? (
        <div className={cx(layout.card, layout.loading)} aria-busy="true">
          Loading dashboards…
        </div>
      ) : value.length === 0 ? (
        <div className={layout.card}>
          <StateMessage title="No dashboards yet" />
        </div>
      ) : (
        <ul className={styles.list} aria-label="Dashboards" style={{ listStyle: 'none', margin: 0, padding: 0 }}>
          {value.map((d) => (
            <li key={d.id} style={{ display: 'contents' }}>
              <a className={styles.listItem} href={`/dashboards?id=${encodeURIComponent(d.id)}`} onClick={onLinkClick} data-dashboard={d.id}>
                <span className={styles.listTitle}>{d.title}</span>
                {d.description && <span className={styles.listDescription}>{d.description}</span>}
                <span>
                  {d.readOnly ? <span className={layout.badge}>built in · read-only</span> : <span className={layout.muted}>v{d.version} · saved {d.updatedAt ? formatAgo(Date.parse(d.updatedAt)) : ''} by {d.updatedBy}</span>}
                </span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
