import { seriesName, type InstantResult } from '../../../ui/prom-api.js';
import styles from './ResultTable.module.css';

/** An instant query's answer: one row per series, or the single scalar. */
export function ResultTable({ result }: { result: InstantResult }) {
  if (result.resultType === 'scalar' || result.resultType === 'string') {
    return (
      <table className={styles.table}>
        <tbody>
          <tr>
            <td className={styles.series}>{result.resultType}</td>
            <td className={styles.value}>{result.result[1]}</td>
          </tr>
        </tbody>
      </table>
    );
  }
  const rows =
    result.resultType === 'vector'
      ? result.result.map((s) => ({ name: seriesName(s.metric), value: s.value[1] }))
      : result.result.map((s) => ({ name: seriesName(s.metric), value: s.values.map((v) => `${v[1]} @${v[0]}`).join('\n') }));
  return (
    <table className={styles.table}>
      <thead>
        <tr>
          <th scope="col">Series</th>
          <th scope="col" className={styles.valueHead}>
            Value
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.name}>
            <td className={styles.series}>{r.name}</td>
            <td className={styles.value}>{r.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
