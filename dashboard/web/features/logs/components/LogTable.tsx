import { Fragment, useState, type KeyboardEvent, type MouseEvent } from 'react';
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
  /** Rows open (click, or Enter when focused) to show their attributes and trace ids. */
  expandable?: boolean;
}

/** Log lines newest first, and the markers where lines are missing. Presentational. */
export function LogTable({ items, highlight = '', onContext, focusKey, expandable = false }: Props) {
  const [open, setOpen] = useState<ReadonlySet<string>>(() => new Set());
  const toggle = (key: string) =>
    setOpen((was) => {
      const next = new Set(was);
      if (!next.delete(key)) next.add(key);
      return next;
    });
  const columns = onContext ? 6 : 5;
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
                <td colSpan={columns} role="note">
                  {item.text}
                </td>
              </tr>
            ) : (
              <Fragment key={item.key}>
                <Row
                  row={item.row}
                  highlight={highlight}
                  onContext={onContext}
                  focused={item.key === focusKey}
                  expanded={expandable ? open.has(item.key) : undefined}
                  onToggle={expandable ? () => toggle(item.key) : undefined}
                />
                {expandable && open.has(item.key) && <RowDetails row={item.row} columns={columns} />}
              </Fragment>
            ),
          )}
        </tbody>
      </table>
    </div>
  );
}

interface RowProps {
  row: LogRow;
  highlight: string;
  onContext: Props['onContext'];
  focused: boolean;
  expanded?: boolean;
  onToggle?: () => void;
}

function Row({ row, highlight, onContext, focused, expanded, onToggle }: RowProps) {
  const ms = rowTimeMs(row);
  const { date, time } = formatLocalTime(ms);
  // A click that ends a text selection, or lands on a button, is not a request to open the row.
  const onClick = (e: MouseEvent<HTMLTableRowElement>) => {
    if ((e.target as HTMLElement).closest('button') || window.getSelection()?.toString()) return;
    onToggle?.();
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTableRowElement>) => {
    if (e.target !== e.currentTarget) return;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onToggle?.();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      siblingRow(e.currentTarget, e.key === 'ArrowDown')?.focus();
    }
  };
  return (
    <tr
      className={styles.row}
      data-level={severityLevel(row)}
      data-focused={focused || undefined}
      {...(onToggle ? { tabIndex: 0, 'aria-expanded': expanded, onClick, onKeyDown, 'data-expandable': true } : {})}
    >
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

/** The next (or previous) line's row, past any open details between them. */
function siblingRow(tr: HTMLTableRowElement, down: boolean): HTMLTableRowElement | null {
  let el = down ? tr.nextElementSibling : tr.previousElementSibling;
  while (el && !(el instanceof HTMLTableRowElement && el.tabIndex === 0)) el = down ? el.nextElementSibling : el.previousElementSibling;
  return el as HTMLTableRowElement | null;
}

function RowDetails({ row, columns }: { row: LogRow; columns: number }) {
  const ids = [
    ...(row.traceId ? [['trace_id', row.traceId] as const] : []),
    ...(row.spanId ? [['span_id', row.spanId] as const] : []),
  ];
  return (
    <tr className={styles.details} data-testid="log-details">
      <td colSpan={columns}>
        <AttributeList title="Log attributes" entries={Object.entries(row.logAttributes ?? {})} />
        <AttributeList title="Resource attributes" entries={Object.entries(row.resourceAttributes ?? {})} />
        {ids.length > 0 && <AttributeList title="Trace" entries={ids} />}
      </td>
    </tr>
  );
}

function AttributeList({ title, entries }: { title: string; entries: ReadonlyArray<readonly [string, string]> }) {
  return (
    <section className={styles.attrGroup} aria-label={title}>
      <h3 className={styles.attrTitle}>{title}</h3>
      {entries.length === 0 ? (
        <p className={styles.attrEmpty}>none</p>
      ) : (
        <dl className={styles.attrs}>
          {[...entries]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, v]) => (
              <div key={k} className={styles.attr} data-attr={k}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
        </dl>
      )}
    </section>
  );
}
