import { useCallback, useMemo, useState } from 'react';
import { StateMessage } from '../../../ui/StateMessage.js';
import { Toggle } from '../../../ui/Toggle.js';
import { TokenForm } from '../../../ui/TokenForm.js';
import { useToken } from '../../../ui/auth-token.js';
import { useSearchParam } from '../../../ui/useSearchParam.js';
import type { LogRow } from '../api.js';
import { useLiveTail } from '../hooks/useLiveTail.js';
import { useLogSearch } from '../hooks/useLogSearch.js';
import { setRangeInUrl } from '../explorer/set-range.js';
import { rangeLabel } from '../explorer/time-range.js';
import type { TailItem } from '../live/tail-buffer.js';
import { lineKey } from '../live/tail-buffer.js';
import { Button } from '../../../ui/Button.js';
import { pendingRows } from '../live/tail-buffer.js';
import { ExportButtons } from '../export/ExportButton.js';
import { ContextPanel } from './ContextPanel.js';
import { FilterField } from './FilterField.js';
import { LogTable } from './LogTable.js';
import { MatchHistogram } from './MatchHistogram.js';
import { TimePicker } from './TimePicker.js';
import { SearchBox } from './SearchBox.js';
import filterStyles from './FilterField.module.css';
import styles from './LogsPage.module.css';

const SEVERITIES: Array<{ value: string; label: string }> = [
  { value: '', label: 'any' },
  { value: '5', label: 'debug+' },
  { value: '9', label: 'info+' },
  { value: '13', label: 'warn+' },
  { value: '17', label: 'error+' },
  { value: '21', label: 'fatal' },
];

/**
 * `/`: the live tail of the whole stack, filtered on the server, following by default; with a
 * time range (`from`, `to` in the URL) the explorer: a histogram of matches and a search of that
 * range, newest first, with older pages on demand.
 */
export function LogsPage() {
  const [q, setQ] = useSearchParam('q');
  const [service, setService] = useSearchParam('service');
  const [host, setHost] = useSearchParam('host');
  const [severity, setSeverity] = useSearchParam('severity');
  const [highlight, setHighlight] = useSearchParam('hl');
  const [from] = useSearchParam('from');
  const [to] = useSearchParam('to');
  const exploring = Boolean(from);
  const [contextOf, setContextOf] = useState<LogRow | null>(null);
  const [exportError, setExportError] = useState<string | null>(null);
  const token = useToken();
  const filter = useMemo(
    () => ({ ...(q ? { text: q } : {}), ...(service ? { service } : {}), ...(host ? { host } : {}), ...(severity ? { minSeverity: Number(severity) } : {}) }),
    [q, service, host, severity],
  );
  const { state, status, loaded, source, error, setPaused } = useLiveTail(filter, !exploring);
  const searchQuery = useMemo(
    () => (exploring ? { from, ...(to ? { to } : {}), ...(q ? { q } : {}), ...(service ? { service } : {}), ...(host ? { host } : {}) } : null),
    [exploring, from, to, q, service, host],
  );
  const search = useLogSearch(searchQuery);
  const range = exploring ? rangeLabel(from, to) : 'Last 1 hour';
  const buffered = pendingRows(state);
  const closeContext = useCallback(() => setContextOf(null), []);
  const filtered = Boolean(q || service || host || severity);
  const clearFilters = () => {
    setQ('');
    setService('');
    setHost('');
    setSeverity('');
  };

  let content;
  if (exploring) {
    content = <SearchResults search={search} highlight={highlight} severity={severity} filtered={filtered} range={range} onContext={setContextOf} />;
  } else if (status === 'unauthorized') {
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
  } else if (status === 'refused' && state.items.length === 0) {
    content = (
      <StateMessage title="Live tail refused" tone="danger" icon={<AlertIcon />}>
        <p className={styles.errorText}>{error}</p>
      </StateMessage>
    );
  } else if (!loaded && state.items.length === 0) {
    content = <div className={styles.loading} aria-busy="true">{status === 'reconnecting' ? 'Connecting to the live tail…' : 'Loading recent logs…'}</div>;
  } else if (state.items.length === 0) {
    content = filtered ? (
      <StateMessage title="No matching logs yet" icon={<InboxIcon />}>
        <p>
          Nothing in the last hour matches this filter; new matching lines appear here as they arrive. Try a wider filter, or{' '}
          <button type="button" className={styles.link} onClick={clearFilters}>
            clear the filters
          </button>
          .
        </p>
      </StateMessage>
    ) : (
      <StateMessage title="No logs yet" icon={<InboxIcon />}>
        <p>
          Lines appear here as soon as they are shipped. Start a collector (<code>pharos collector</code>) or push OTLP
          logs to port 4318; this view follows by itself.
        </p>
      </StateMessage>
    );
  } else {
    content = <LogTable items={state.items} highlight={highlight} onContext={setContextOf} expandable />;
  }

  return (
    <section className={styles.page} aria-labelledby="logs-title">
      <div className={styles.toolbar}>
        <h1 id="logs-title" className={styles.title}>
          Logs
        </h1>
        <SearchBox value={q} onSearch={setQ} />
        <TimePicker from={from} to={to} onChange={setRangeInUrl} />
        <Toggle
          checked={!exploring && !state.paused}
          onChange={(follow) => (exploring ? follow && setRangeInUrl('', '') : setPaused(!follow))}
          label="Follow"
          pulse={!exploring && status === 'live'}
          title={
            exploring
              ? 'Showing a fixed range: click to follow new lines live'
              : state.paused
                ? 'Paused: new lines are kept aside; click to show them and follow'
                : 'Following new lines: click to pause'
          }
        />
        {!exploring && state.paused && (
          <button type="button" className={styles.buffered} onClick={() => setPaused(false)} data-testid="buffered">
            {buffered} new {buffered === 1 ? 'line' : 'lines'} buffered · resume
          </button>
        )}
        {/* The tail's history window is the last hour; the explorer's is its range: the export covers the same lines. */}
        <ExportButtons
          query={{ q: q || undefined, service: service || undefined, host: host || undefined, from: exploring ? from : 'now-1h', to: exploring ? to || undefined : undefined }}
          rangeLabel={range}
          onError={setExportError}
        />
        {exploring ? (
          <span className={styles.status} aria-live="polite" data-status={search.loading ? 'searching' : 'search'}>
            {search.loading ? 'searching…' : `${search.rows.length}${search.more ? '+' : ''} ${search.rows.length === 1 ? 'line' : 'lines'} · ${range}`}
          </span>
        ) : (
          <Status status={status} count={state.items.reduce((n, i) => n + (i.kind === 'row' ? 1 : 0), 0)} dropped={state.dropped} source={source} />
        )}
      </div>
      <div className={styles.filters}>
        <FilterField label="Service" value={service} onApply={setService} placeholder="any" />
        <FilterField label="Host" value={host} onApply={setHost} placeholder="any" />
        <label className={filterStyles.field}>
          <span className={filterStyles.label}>Severity</span>
          <select className={filterStyles.input} value={severity} onChange={(e) => setSeverity(e.target.value)}>
            {SEVERITIES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <FilterField label="Highlight" value={highlight} onApply={setHighlight} placeholder="a term to mark" width={180} />
      </div>

      {!exploring && error && status !== 'refused' && (
        <div className={styles.banner} role="alert">
          <AlertIcon />
          <span>{error}</span>
        </div>
      )}

      {exportError && (
        <div className={styles.banner} role="alert">
          <AlertIcon />
          <span>{exportError}</span>
        </div>
      )}

      {contextOf && <ContextPanel row={contextOf} highlight={highlight} onClose={closeContext} />}

      {exploring && (
        <div className={styles.card} aria-busy={!search.histogram && !search.histogramError}>
          {search.histogram ? (
            <MatchHistogram histogram={search.histogram} onSelect={(f, t) => setRangeInUrl(String(f), String(t))} />
          ) : search.histogramError ? (
            <div className={styles.banner} role="alert">
              <AlertIcon />
              <span>{search.histogramError}</span>
            </div>
          ) : (
            <div className={styles.loading}>Counting matches…</div>
          )}
        </div>
      )}

      <div className={styles.card}>{content}</div>
    </section>
  );
}

/** The explorer's lines: loading, error, empty or the table, and the way to older pages. */
function SearchResults({
  search,
  highlight,
  severity,
  filtered,
  range,
  onContext,
}: {
  search: ReturnType<typeof useLogSearch>;
  highlight: string;
  severity: string;
  filtered: boolean;
  range: string;
  onContext: (row: LogRow) => void;
}) {
  const items = useMemo<TailItem[]>(
    // /api/logs has no severity filter: the explorer applies the page's one to what came back.
    () => search.rows.filter((r) => !severity || r.severityNumber >= Number(severity)).map((row) => ({ kind: 'row', key: lineKey(row), row })),
    [search.rows, severity],
  );
  if (search.loading) return <div className={styles.loading} aria-busy="true">Searching {range.toLowerCase()}…</div>;
  if (search.error && items.length === 0) {
    return (
      <StateMessage title="The search failed" tone="danger" icon={<AlertIcon />}>
        <p className={styles.errorText}>{search.error}</p>
      </StateMessage>
    );
  }
  if (items.length === 0) {
    return (
      <StateMessage title="No matching logs" icon={<InboxIcon />}>
        <p>{filtered ? `Nothing in this range (${range.toLowerCase()}) matches this filter. Try a wider range or filter.` : `No lines in this range (${range.toLowerCase()}). Try a wider range.`}</p>
      </StateMessage>
    );
  }
  return (
    <>
      <LogTable items={items} highlight={highlight} onContext={onContext} expandable />
      {search.error && (
        <div className={styles.banner} role="alert">
          <AlertIcon />
          <span>{search.error}</span>
        </div>
      )}
      {search.more && (
        <div className={styles.more}>
          <Button onClick={search.loadOlder} disabled={search.loadingOlder} aria-busy={search.loadingOlder}>
            {search.loadingOlder ? 'Loading older lines…' : 'Load older'}
          </Button>
        </div>
      )}
    </>
  );
}

function Status({ status, count, dropped, source }: { status: string; count: number; dropped: number; source: string | undefined }) {
  const state =
    status === 'live' ? `live${source === 'bus' ? '' : source ? ` (${source})` : ''}` : status === 'reconnecting' ? 'reconnecting…' : status === 'connecting' ? 'connecting…' : status;
  return (
    <span className={styles.status} aria-live="polite" data-status={status}>
      {count} {count === 1 ? 'line' : 'lines'} · {state}
      {dropped > 0 && <span className={styles.dropped}> · {dropped} dropped</span>}
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
