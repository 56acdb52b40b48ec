import { TimeSeriesChart } from '../../../ui/TimeSeriesChart.js';
import { cx } from '../../../ui/cx.js';
import { formatBytes, formatPercent } from '../../../ui/format-number.js';
import type { HostFigure, HostOverview } from '../api.js';
import styles from './HostCard.module.css';

const ROWS: Array<{ figure: HostFigure; label: string; format: (v: number) => string; ratio?: boolean }> = [
  { figure: 'cpu', label: 'CPU', format: formatPercent, ratio: true },
  { figure: 'memory', label: 'Memory', format: formatPercent, ratio: true },
  { figure: 'disk', label: 'Fullest disk', format: formatPercent, ratio: true },
  { figure: 'netIn', label: 'Network in', format: (v) => formatBytes(v, '/s') },
  { figure: 'netOut', label: 'Network out', format: (v) => formatBytes(v, '/s') },
];

const RATIO_RANGE: [number, number] = [0, 1];

export function HostCard({ host, now }: { host: HostOverview; now: number }) {
  return (
    <article className={styles.card} aria-label={`Host ${host.instance}`} data-host={host.instance}>
      <header className={styles.header}>
        <span className={cx(styles.dot, host.up ? styles.up : styles.down)} aria-hidden="true" />
        <h3 className={styles.name} title={host.instance}>
          {host.instance}
        </h3>
        <span className={cx(styles.state, host.up ? styles.upText : styles.downText)}>{host.up ? 'Up' : 'Down'}</span>
        <span className={styles.seen}>{seenText(host.lastSeen, now)}</span>
      </header>
      <dl className={styles.rows}>
        {ROWS.map(({ figure, label, format, ratio }) => {
          const { data, current } = host.figures[figure];
          return (
            <div key={figure} className={styles.row} data-figure={figure}>
              <dt className={styles.label}>{label}</dt>
              <dd className={styles.value}>
                {current === null ? <span className={styles.none}>no data</span> : format(current)}
                {ratio && current !== null && (
                  <span className={styles.bar} aria-hidden="true">
                    <span className={cx(styles.fill, current >= 0.9 && styles.hot)} style={{ width: `${Math.min(100, Math.max(0, current * 100))}%` }} />
                  </span>
                )}
              </dd>
              <dd className={styles.spark}>
                <TimeSeriesChart data={data} height={34} compact label={`${label} of ${host.instance}, last 15 minutes`} formatValue={format} {...(ratio ? { yRange: RATIO_RANGE } : {})} />
              </dd>
            </div>
          );
        })}
      </dl>
    </article>
  );
}

function seenText(lastSeen: number | null, nowMs: number): string {
  if (lastSeen === null) return 'no sample in 5 min';
  const ago = Math.max(0, Math.round(nowMs / 1000 - lastSeen));
  if (ago < 60) return `seen ${ago}s ago`;
  return `seen ${Math.round(ago / 60)} min ago`;
}
