import type { LogRow } from '../api.js';
import { formatLocalTime, rowKey, rowTimeMs, severityLevel } from '../format.js';
import { SeverityBadge } from './SeverityBadge.js';
import styles from './LogTable.module.css';

/** Log lines, newest first. Presentational: fetching and live updates live in the hooks. */
export function LogTable({ rows }: { rows: readonly LogRow[] }) {
  return (
    <div className={styles.scroller}>
      <table className={styles.table}>
        <colgroup>
          <col className={styles.colTime} />
          <col className={styles.colSeverity} />
          <col className={styles.colService} />
          <col className={styles.colHost} />
          <col />
        </colgroup>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Severity</th>
            <th scope="col">Service</th>
            <th scope="col">Host</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => {
            const ms = rowTimeMs(row);
            const { date, time } = formatLocalTime(ms);
            return (
              <tr key={rowKey(row, i)} className={styles.row} data-level={severityLevel(row)}>
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
                <td className={styles.body}>{row.body}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
