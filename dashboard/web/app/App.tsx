import { lazy, Suspense } from 'react';
import { LogsPage } from '../features/logs/index.js';
import { logout } from '../features/login/index.js';
import { hasSession, useToken } from '../ui/auth-token.js';
import { Button } from '../ui/Button.js';
import { StateMessage } from '../ui/StateMessage.js';
import styles from './App.module.css';
import { onLinkClick, ROUTES, useRoute, type Route } from './useRoute.js';
import { useWhoami } from './useWhoami.js';

// Split off: the metrics page carries CodeMirror, and both carry uPlot; the logs page needs neither.
const OverviewPage = lazy(() => import('../features/overview/index.js').then((m) => ({ default: m.OverviewPage })));
const MetricsPage = lazy(() => import('../features/metrics/index.js').then((m) => ({ default: m.MetricsPage })));
const DashboardsPage = lazy(() => import('../features/dashboards/index.js').then((m) => ({ default: m.DashboardsPage })));
const AlertsPage = lazy(() => import('../features/alerts/index.js').then((m) => ({ default: m.AlertsPage })));
const DeliveryPage = lazy(() => import('../features/delivery/index.js').then((m) => ({ default: m.DeliveryPage })));
const SqlPage = lazy(() => import('../features/sql/index.js').then((m) => ({ default: m.SqlPage })));

export function App() {
  const route = useRoute();
  return (
    <div className={styles.shell}>
      <Header route={route} />
      <main className={styles.main}>
        <Suspense fallback={<div className={styles.pageLoading} aria-busy="true">Loading…</div>}>
          <Page route={route} />
        </Suspense>
      </main>
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route) {
    case 'logs':
      return <LogsPage />;
    case 'overview':
      return <OverviewPage />;
    case 'metrics':
      return <MetricsPage />;
    case 'dashboards':
      return <DashboardsPage />;
    case 'alerts':
      return <AlertsPage />;
    case 'delivery':
      return <DeliveryPage />;
    case 'sql':
      return <SqlPage />;
    case 'not-found':
      return (
        <div className={styles.notFound}>
          <StateMessage title="No such page">
            <p>
              Nothing lives at <code>{window.location.pathname}</code>.{' '}
              <a href="/overview" onClick={onLinkClick}>
                Go to the overview
              </a>
              .
            </p>
          </StateMessage>
        </div>
      );
  }
}

function Header({ route }: { route: Route }) {
  const me = useWhoami();
  const token = useToken();
  return (
    <header className={styles.header}>
      <a className={styles.brand} href="/" onClick={onLinkClick}>
        <img src="/favicon.svg" alt="" width="26" height="26" />
        <span>Pharos</span>
      </a>
      <nav className={styles.nav} aria-label="Sections">
        {ROUTES.map((r) => (
          <a key={r.route} className={styles.navItem} href={r.path} onClick={onLinkClick} aria-current={route === r.route ? 'page' : undefined}>
            {r.label}
          </a>
        ))}
      </nav>
      <div className={styles.user}>
        {me && (
          <span className={styles.principal} title={me.anonymous ? 'No tokens are configured: the server is open on loopback' : undefined}>
            <span className={styles.avatar} aria-hidden="true">
              {me.name.slice(0, 1).toUpperCase()}
            </span>
            {me.name}
            <span className={styles.role}>{me.role}</span>
          </span>
        )}
        {(token || hasSession()) && (
          <Button variant="ghost" onClick={() => void logout()}>
            Sign out
          </Button>
        )}
      </div>
    </header>
  );
}
