import type { SqlResult } from '../api.js';
import styles from './SqlResultTable.module.css';

/** The rows of a statement, a column a field; the type under each name, values as ClickHouse wrote them. */
export function SqlResultTable({ result }: { result: SqlResult }) {
  return (
    <div className={styles.scroller}>
      <table className={styles.table} data-testid="sql-result">
        <thead>
          <tr>
            {result.columns.map((c, i) => (
              <th key={i} scope="col">
                <span className={styles.name}>{c.name}</span>
                <span className={styles.type}>{c.type}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {result.rows.map((row, r) => (
            <tr key={r}>
              {row.map((v, c) => (
                <td key={c} className={typeof v === 'number' || /^(U?Int|Float|Decimal)/.test(result.columns[c]?.type ?? '') ? styles.number : undefined}>
                  {cellText(v)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function cellText(v: unknown): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
