/** The lines around one line of the same service and host, from the warehouse (`/api/logs/context`). */
import { useEffect, useState } from 'react';
import { Button } from '../../../ui/Button.js';
import { fetchContext, type LogContextResult, type LogRow } from '../api.js';
import { lineKey, type TailItem } from '../live/tail-buffer.js';
import { LogTable } from './LogTable.js';
import styles from './ContextPanel.module.css';

export function ContextPanel({ row, highlight, onClose }: { row: LogRow; highlight: string; onClose: () => void }) {
  const [result, setResult] = useState<LogContextResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    setResult(null);
    setError(null);
    fetchContext(row, controller.signal).then(setResult, (err: unknown) => {
      if (!controller.signal.aborted) setError((err as Error).message);
    });
    return () => controller.abort();
  }, [row]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  // Newest first, as the tail shows lines.
  const items: TailItem[] = result ? [...result.rows].reverse().map((r, i) => ({ kind: 'row', key: `${lineKey(r)}|${i}`, row: r })) : [];
  const focusIndex = result ? result.rows.length - 1 - result.index : -1;
  const focusKey = items[focusIndex]?.key;

  return (
    <section className={styles.panel} aria-label="Context of a line" role="dialog">
      <header className={styles.header}>
        <h2 className={styles.title}>
          Context · {row.serviceName}
          {row.hostName ? ` on ${row.hostName}` : ''}
        </h2>
        <Button variant="ghost" onClick={onClose}>
          Close
        </Button>
      </header>
      {error ? (
        <p className={styles.error} role="alert">
          Could not load the context: {error}
        </p>
      ) : !result ? (
        <p className={styles.loading} aria-busy="true">
          Loading the lines around it…
        </p>
      ) : (
        <LogTable items={items} highlight={highlight} focusKey={focusKey} />
      )}
    </section>
  );
}
