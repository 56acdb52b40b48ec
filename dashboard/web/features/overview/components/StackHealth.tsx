import { formatShort } from '../../../ui/format-number.js';
import type { StackHealth as Health } from '../hooks/useOverview.js';
import styles from './StackHealth.module.css';

/** The stack's own throughput and trouble, from this process's registry. */
export function StackHealth({ health }: { health: Health | null }) {
  const r = health?.rates;
  const s = health?.summary;
  const rate = (v: number | undefined) => (v === undefined ? '…' : `${formatShort(v)}/s`);
  const tiles = [
    { key: 'ingest', label: 'Ingest', value: rate(r?.eventsReceived), hint: s ? `${formatShort(s.eventsReceived)} events taken in` : 'events per second' },
    { key: 'warehouse', label: 'Warehouse rows', value: rate(r?.rowsInserted), hint: s ? `${formatShort(s.rowsInserted)} rows inserted` : 'rows per second' },
    { key: 'samples', label: 'Samples stored', value: rate(r?.samplesAppended), hint: s ? `${formatShort(s.samplesAppended)} appended` : 'real-time store' },
    {
      key: 'errors',
      label: 'Errors',
      value: s ? formatShort(s.errors) : '…',
      hint: r ? (r.errors > 0 ? `${formatShort(r.errors)}/s now` : 'none in the last 5 s') : 'since start',
      bad: Boolean(r && r.errors > 0),
    },
    { key: 'series', label: 'Series', value: s ? (s.series === null ? '–' : formatShort(s.series)) : '…', hint: 'in the real-time store' },
  ];
  return (
    <section className={styles.panel} aria-labelledby="stack-health-title">
      <h2 id="stack-health-title" className={styles.title}>
        Pharos itself
      </h2>
      <dl className={styles.tiles}>
        {tiles.map((t) => (
          <div key={t.key} className={styles.tile} data-stat={t.key}>
            <dt className={styles.label}>{t.label}</dt>
            <dd className={t.bad ? `${styles.value} ${styles.bad}` : styles.value}>{t.value}</dd>
            <dd className={styles.hint}>{t.hint}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
