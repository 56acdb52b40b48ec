import type { LogRow } from '../api.js';
import { formatLocalTime, rowTimeMs, severityLevel } from '../format.js';
import type { TailItem } from '../live/tail-buffer.js';
import { Highlight } from './Highlight.js';
import { SeverityBadge } from './SeverityBadge.js';
import styles from './LogTable.module.css';

interface Props {
  items: readonly TailItem[];
  /** Marked in each message. */
  highlight?: string;
  /** Opens the lines around one line. */
  onContext?: (row: LogRow) => void;
  /** The line to set apart (the one a context view was opened for). */
  focusKey?: string;
}

/** Log lines newest first, and the markers where lines are missing. Presentational. */
export function LogTable({ items, highlight = '', onContext, focusKey }: Props) {
  return (
    <div className={styles.scroller}>
      <table className={styles.table}>
        <colgroup>
          <col className={styles.colTime} />
          <col className={styles.colSeverity} />
          <col className={styles.colService} />
          <col className={styles.colHost} />
          <col />
          {onContext && <col className={styles.colActions} />}
        </colgroup>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Severity</th>
            <th scope="col">Service</th>
            <th scope="col">Host</th>
            <th scope="col">Message</th>
            {onContext && (
              <th scope="col">
                <span className={styles.visuallyHidden}>Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {items.map((item) =>
            item.kind === 'marker' ? (
              <tr key={item.key} className={styles.marker} data-marker={item.tone}>
                <td colSpan={onContext ? 6 : 5} role="note">
                  {item.text}
                </td>
              </tr>
            ) : (
              <Row key={item.key} row={item.row} highlight={highlight} onContext={onContext} focused={item.key === focusKey} />
            ),
          )}
        </tbody>
      </table>
    </div>
  );
}

function Row({ row, highlight, onContext, focused }: { row: LogRow; highlight: string; onContext: Props['onContext']; focused: boolean }) {
  const ms = rowTimeMs(row);
  const { date, time } = formatLocalTime(ms);
  return (
    <tr className={styles.row} data-level={severityLevel(row)} data-focused={focused || undefined}>
      <td className={styles.time}>
        <time dateTime={new Date(ms).toISOString()}>
          <span className={styles.date}>{date}</span> {time}
        </time>
      </td>
      <td>
        <SeverityBadge row={row} />
      </td>
      <td className={styles.ellipsis} title={row.serviceName}>
        {row.serviceName || '—'}
      </td>
      <td className={styles.ellipsis} title={row.hostName}>
        {row.hostName || '—'}
      </td>
      <td className={styles.body}>
        <Highlight text={row.body} term={highlight} />
      </td>
      {onContext && (
        <td className={styles.actions}>
          <button type="button" className={styles.contextButton} onClick={() => onContext(row)} title="Show the lines around this one" disabled={!row.serviceName}>
            Context
          </button>
        </td>
      )}
    </tr>
  );
}
