import { Button } from '../../../ui/Button.js';
import { StateMessage } from '../../../ui/StateMessage.js';
import { TokenForm } from '../../../ui/TokenForm.js';
import { useToken } from '../../../ui/auth-token.js';
import { REFRESH_MS, useOverview } from '../hooks/useOverview.js';
import { HostCard } from './HostCard.js';
import { StackHealth } from './StackHealth.js';
import styles from './OverviewPage.module.css';

/** `/overview`: every host at a glance and the stack's own health, refreshed every 5 s. */
export function OverviewPage() {
  const { hosts, stack, error, updatedAt, reload } = useOverview();
  const token = useToken();

  let content;
  if (error?.unauthorized) {
    content = (
      <div className={styles.card}>
        <StateMessage title={token ? 'This token was refused' : 'A token is needed'} tone="attention">
          <p>This Pharos server requires an API token (viewer role or above).</p>
          <TokenForm rejected={Boolean(token)} />
        </StateMessage>
      </div>
    );
  } else if (error && hosts === null) {
    content = (
      <div className={styles.card}>
        <StateMessage title="Could not load the hosts" tone="danger">
          <p className={styles.errorText}>{error.message}</p>
          <Button onClick={reload}>Try again</Button>
        </StateMessage>
      </div>
    );
  } else if (hosts === null) {
    content = (
      <div className={styles.card} aria-busy="true">
        <div className={styles.loading}>Loading hosts…</div>
      </div>
    );
  } else if (hosts.length === 0) {
    content = (
      <div className={styles.card}>
        <StateMessage title="No hosts yet">
          <p>
            Hosts appear here when a collector ships host metrics (<code>collector.host_metrics</code>, on by default). This view
            updates by itself.
          </p>
        </StateMessage>
      </div>
    );
  } else {
    const now = updatedAt ?? Date.now();
    content = (
      <div className={styles.grid} aria-label="Hosts">
        {hosts.map((h) => (
          <HostCard key={h.instance} host={h} now={now} />
        ))}
      </div>
    );
  }

  const upCount = hosts?.filter((h) => h.up).length ?? 0;
  return (
    <section className={styles.page} aria-labelledby="overview-title">
      <div className={styles.toolbar}>
        <h1 id="overview-title" className={styles.title}>
          Overview
        </h1>
        {hosts && hosts.length > 0 && (
          <span className={styles.summary}>
            {upCount} of {hosts.length} {hosts.length === 1 ? 'host' : 'hosts'} up
          </span>
        )}
        <span className={styles.status} aria-live="polite">
          last 15 minutes · every {REFRESH_MS / 1000} s{updatedAt ? ` · updated ${new Date(updatedAt).toLocaleTimeString([], { hour12: false })}` : ''}
        </span>
      </div>
      {error && !error.unauthorized && hosts !== null && (
        <div className={styles.banner} role="alert">
          Could not refresh: {error.message}
        </div>
      )}
      {!error?.unauthorized && <StackHealth health={stack} />}
      {content}
    </section>
  );
}
