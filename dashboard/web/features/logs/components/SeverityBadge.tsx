import type { LogRow } from '../api.js';
import { severityLabel, severityLevel } from '../format.js';
import styles from './SeverityBadge.module.css';

export function SeverityBadge({ row }: { row: Pick<LogRow, 'severityNumber' | 'severityText'> }) {
  const level = severityLevel(row);
  return (
    <span className={`${styles.badge} ${styles[level] ?? ''}`} data-level={level} title={row.severityNumber ? `severity ${row.severityNumber}` : undefined}>
      {severityLabel(row)}
    </span>
  );
}
