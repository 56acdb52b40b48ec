import { StateMessage } from '../../ui/StateMessage.js';
import { ErrorState } from '../../ui/ErrorState.js';
import { Button } from '../../ui/Button.js';
import { cx } from '../../ui/cx.js';
import { formatDuration } from '../../ui/format-time.js';
import layout from '../../ui/PageLayout.module.css';
import { useAsync } from '../../ui/useAsync.js';
import { useSearchParam } from '../../ui/useSearchParam.js';
import { DEFAULT_RANGE, fetchDelivery, healthOf, RANGES, STALE_AFTER_MS, type DeliveryRow } from './api.js';
import { droppedTotal, dropReasons } from './dropped.js';
import styles from './DeliveryPage.module.css';

const REFRESH_MS = 15_000;

/** `/delivery`: per host and source, what reached the warehouse, what is missing or doubled, what filters dropped, and how fresh it is. */
export function DeliveryPage() {
  const [rangeParam, setRange] = useSearchParam('range');
  const [hostFilter, setHostFilter] = useSearchParam('host');
  const range = RANGES.some((r) => r.id === rangeParam) ? rangeParam : DEFAULT_RANGE;
  const { value, loading, error, reload, loadedAt } = useAsync((signal) => fetchDelivery(range, signal), [range], REFRESH_MS);
  const rows = (value?.rows ?? []).filter((r) => !hostFilter || r.host.includes(hostFilter));
  const stale = rows.filter((r) => healthOf(r) === 'stale').length;
  const lossy = rows.filter((r) => healthOf(r) === 'lossy').length;
  const dropped = rows.reduce((n, r) => n + droppedTotal(r.dropped), 0);

  let content;
  if (error && !value) content = <ErrorState error={error} what="the delivery report" onRetry={reload} />;
  else if (!value)
    content = (
      <div className={layout.loading} aria-busy="true">
        Reading the warehouse's accounting…
      </div>
    );
  else if (rows.length === 0)
    content = (
      <StateMessage title="Nothing delivered in this range">
        <p>No host sent records {hostFilter ? `matching “${hostFilter}” ` : ''}in the {RANGES.find((r) => r.id === range)?.label.toLowerCase()}. Check that the collectors run and reach Kafka.</p>
      </StateMessage>
    );
  else
    content = (
      <div className={styles.tableBox}>
        <table className={layout.table} aria-label="Delivery per host and source">
          <thead>
            <tr>
              <th>Status</th>
              <th>Host</th>
              <th>Source</th>
              <th className={layout.num}>Received</th>
              <th className={layout.num}>Missing</th>
              <th className={layout.num}>Duplicates</th>
              <th className={layout.num}>Newest record</th>
              <th>Gaps (sequence numbers)</th>
              <th>Dropped (by filter rule)</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <Row key={`${r.host}\u0000${r.source}`} row={r} />
            ))}
          </tbody>
        </table>
      </div>
    );

  return (
    <section className={layout.page} aria-labelledby="delivery-title">
      <div className={layout.toolbar}>
        <h1 id="delivery-title" className={layout.title}>
          Delivery
        </h1>
        <div className={styles.summary} aria-live="polite">
          {value && stale > 0 && <span className={cx(layout.badge, layout.badgeDanger)}>{stale} stopped</span>}
          {value && lossy > 0 && <span className={cx(layout.badge, layout.badgeWarn)}>{lossy} losing data</span>}
          {value && stale === 0 && lossy === 0 && rows.length > 0 && <span className={cx(layout.badge, layout.badgeOk)}>all sources complete and fresh</span>}
          {value && dropped > 0 && (
            <span className={layout.badge} title="Records the collectors' filter rules dropped on purpose: never shipped, so not missing">
              {dropped.toLocaleString()} dropped by filters
            </span>
          )}
        </div>
        <label className={layout.field}>
          Host
          <input className={layout.input} type="search" placeholder="filter" value={hostFilter} onChange={(e) => setHostFilter(e.target.value)} aria-label="Filter by host" />
        </label>
        <label className={layout.field}>
          <span className={layout.visuallyHidden}>Time range</span>
          <select className={layout.select} value={range} onChange={(e) => setRange(e.target.value === DEFAULT_RANGE ? '' : e.target.value)} aria-label="Time range">
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <Button onClick={reload} disabled={loading}>
          Refresh
        </Button>
        <span className={layout.status} aria-live="polite">
          {loading ? 'loading…' : error ? `refresh failed: ${error.message}` : loadedAt ? `${rows.length} ${rows.length === 1 ? 'source' : 'sources'} · updated ${new Date(loadedAt).toLocaleTimeString()}` : ''}
        </span>
      </div>
      <div className={layout.card}>{content}</div>
    </section>
  );
}

function Row({ row }: { row: DeliveryRow }) {
  const health = healthOf(row);
  const reasons = dropReasons(row.dropped);
  const dropped = droppedTotal(row.dropped);
  return (
    <tr className={cx(health === 'stale' && styles.rowStale, health === 'lossy' && styles.rowLossy)} data-host={row.host} data-health={health}>
      <td>
        {health === 'stale' ? (
          <span className={cx(layout.badge, layout.badgeDanger)} title={`No record for more than ${formatDuration(STALE_AFTER_MS)}: the shipper may have stopped`}>
            stopped
          </span>
        ) : health === 'lossy' ? (
          <span className={cx(layout.badge, layout.badgeWarn)} title="Sequence numbers are missing: records were lost on the way">
            losing data
          </span>
        ) : health === 'filtered' ? (
          <span className={layout.badge} title="Nothing arrived from this source in the range: its filters dropped every record it read">
            all filtered
          </span>
        ) : (
          <span className={cx(layout.badge, layout.badgeOk)}>ok</span>
        )}
      </td>
      <td>{row.host}</td>
      <td className={layout.mono}>{row.source}</td>
      <td className={layout.num}>{row.received.toLocaleString()}</td>
      <td className={layout.num}>{row.missing.toLocaleString()}</td>
      <td className={layout.num}>{row.duplicates.toLocaleString()}</td>
      <td className={layout.num}>{row.ageMs === null ? <span className={layout.muted}>none</span> : row.ageMs < 0 ? 'clock ahead' : `${formatDuration(row.ageMs)} ago`}</td>
      <td className={cx(layout.mono, styles.gaps)}>
        {row.gaps.length === 0 ? <span className={layout.muted}>none</span> : row.gaps.map((g) => `${g.from}–${g.to}`).join(', ')}
        {row.missing > 0 && row.gaps.length > 0 && ` (${row.missing} missing)`}
      </td>
      <td className={cx(layout.mono, styles.gaps)} data-dropped={dropped}>
        {reasons.length === 0 ? <span className={layout.muted}>none</span> : reasons.map((d) => `${d.reason} ${d.count.toLocaleString()}`).join(', ')}
        {reasons.length > 1 && ` (${dropped.toLocaleString()} dropped)`}
      </td>
    </tr>
  );
}
