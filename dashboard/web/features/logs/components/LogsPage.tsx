import { useState } from 'react';
import { Button } from '../../../ui/Button.js';
import { StateMessage } from '../../../ui/StateMessage.js';
import { Toggle } from '../../../ui/Toggle.js';
import { TokenForm } from '../../../ui/TokenForm.js';
import { useToken } from '../../../ui/auth-token.js';
import { useSearchParam } from '../../../ui/useSearchParam.js';
import { RECENT_LIMIT, useRecentLogs } from '../hooks/useRecentLogs.js';
import { formatLocalTime } from '../format.js';
import { LogTable } from './LogTable.js';
import { SearchBox } from './SearchBox.js';
import styles from './LogsPage.module.css';

/** `/`: the most recent log lines of the whole stack, live by default. */
export function LogsPage() {
  const [q, setQ] = useSearchParam('q');
  const [live, setLive] = useState(true);
  const token = useToken();
  const { rows, loading, error, updatedAt, reload } = useRecentLogs({ q, live });

  let content;
  if (error?.unauthorized) {
    content = (
      <StateMessage title={token ? 'This token was refused' : 'A token is needed'} tone="attention" icon={<LockIcon />}>
        {token ? (
          <p>The server did not accept the saved token. It may have been revoked or mistyped.</p>
        ) : (
          <p>
            This Pharos server requires an API token. Paste one of the tokens configured under <code>auth.tokens</code>{' '}
            (viewer role or above).
          </p>
        )}
        <TokenForm rejected={Boolean(token)} />
      </StateMessage>
    );
  } else if (error && rows.length === 0) {
    content = (
      <StateMessage title="Could not load logs" tone="danger" icon={<AlertIcon />}>
        <p className={styles.errorText}>{error.message}</p>
        <Button onClick={reload}>Try again</Button>
      </StateMessage>
    );
  } else if (loading && rows.length === 0) {
    content = <div className={styles.loading} aria-busy="true">Loading recent logs…</div>;
  } else if (rows.length === 0) {
    content = q ? (
      <StateMessage title="No matching logs" icon={<InboxIcon />}>
        <p>
          Nothing in the last hour contains <code>{q}</code>. Try fewer words, or{' '}
          <button type="button" className={styles.link} onClick={() => setQ('')}>
            clear the filter
          </button>
          .
        </p>
      </StateMessage>
    ) : (
      <StateMessage title="No logs yet" icon={<InboxIcon />}>
        <p>
          Lines appear here within seconds of being shipped. Start a collector (<code>pharos collector</code>) or push
          OTLP logs to port 4318, {live ? 'and this view updates by itself.' : 'then turn Live back on.'}
        </p>
      </StateMessage>
    );
  } else {
    content = <LogTable rows={rows} />;
  }

  return (
    <section className={styles.page} aria-labelledby="logs-title">
      <div className={styles.toolbar}>
        <h1 id="logs-title" className={styles.title}>
          Logs
        </h1>
        <SearchBox value={q} onSearch={setQ} />
        <Toggle checked={live} onChange={setLive} label="Live" pulse title={live ? 'Refreshing every second: click to pause' : 'Paused: click to refresh every second'} />
        <Status live={live} count={rows.length} updatedAt={updatedAt} stale={Boolean(error)} />
      </div>

      {error && !error.unauthorized && rows.length > 0 && (
        <div className={styles.banner} role="alert">
          <AlertIcon />
          <span>
            Could not refresh: {error.message} Showing the lines from {updatedAt ? formatLocalTime(updatedAt).time.slice(0, 8) : 'before'}.
          </span>
        </div>
      )}

      <div className={styles.card}>{content}</div>
    </section>
  );
}

function Status({ live, count, updatedAt, stale }: { live: boolean; count: number; updatedAt: number | null; stale: boolean }) {
  if (updatedAt === null) return <span className={styles.status} />;
  const at = formatLocalTime(updatedAt).time.slice(0, 8);
  const lines = count === RECENT_LIMIT ? `latest ${count} lines` : `${count} ${count === 1 ? 'line' : 'lines'}`;
  return (
    <span className={styles.status} aria-live="polite">
      {lines} · last hour · {live && !stale ? 'updated' : 'as of'} {at}
    </span>
  );
}

function InboxIcon() {
  return (
    <svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" strokeWidth="1.7" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
      <path d="M4 13h4l1.5 3h5L16 13h4" />
      <path d="M5.5 5h13L21 13v5a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1v-5z" />
    </svg>
  );
}

function AlertIcon() {
  return (
    <svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" aria-hidden="true">
      <circle cx="12" cy="12" r="9" />
      <path d="M12 7.5v5.5M12 16.5v.01" />
    </svg>
  );
}

function LockIcon() {
  return (
    <svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" aria-hidden="true">
      <rect x="5" y="10.5" width="14" height="9.5" rx="2" />
      <path d="M8.5 10.5V8a3.5 3.5 0 0 1 7 0v2.5" />
    </svg>
  );
}
