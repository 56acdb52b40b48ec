import { useEffect, useState } from 'react';
import { Button } from '../../../ui/Button.js';
import { StateMessage } from '../../../ui/StateMessage.js';
import { TokenForm } from '../../../ui/TokenForm.js';
import { useToken } from '../../../ui/auth-token.js';
import { formatBytes } from '../../../ui/format-number.js';
import type { SqlEstimate, SqlLimits, SqlResult } from '../api.js';
import { useSqlConsole } from '../hooks/useSqlConsole.js';
import { SqlEditor } from './SqlEditor.js';
import { SqlResultTable } from './SqlResultTable.js';
import styles from './SqlPage.module.css';

const DRAFT_KEY = 'pharos.sql.draft';
const TABLES = ['otel_logs', 'metric_samples', 'metric_rollup_1m', 'metric_rollup_1h', 'alert_events', 'warehouse_batches'];
const EXAMPLES = [
  'SELECT ServiceName, SeverityText, count() AS lines\nFROM otel_logs\nWHERE Timestamp > now() - INTERVAL 1 HOUR\nGROUP BY ServiceName, SeverityText\nORDER BY lines DESC',
  "SELECT Timestamp, ServiceName, Body\nFROM otel_logs\nWHERE hasToken(Body, 'error')\nORDER BY Timestamp DESC\nLIMIT 100",
  "SELECT BucketStart, Labels['instance'] AS instance, Max\nFROM metric_rollup_1h\nWHERE MetricName = 'node_load1'\nORDER BY BucketStart DESC\nLIMIT 100",
];

const count = (n: number) => n.toLocaleString('en-US');

/** `/sql`: one read-only SELECT over the warehouse, estimated before a costly run, cancellable. */
export function SqlPage() {
  const [draft, setDraft] = useState(() => localStorage.getItem(DRAFT_KEY) ?? '');
  const [limits, setLimits] = useState<SqlLimits | undefined>();
  const token = useToken();
  const sql = useSqlConsole();
  const { state } = sql;

  useEffect(() => localStorage.setItem(DRAFT_KEY, draft), [draft]);
  useEffect(() => {
    if (state.phase === 'done') setLimits(state.result.limits);
    if (state.phase === 'confirm') setLimits(state.estimate.limits);
  }, [state]);

  const busy = state.phase === 'running' || state.phase === 'estimating';
  const run = () => !busy && sql.run(draft);

  return (
    <div className={styles.page}>
      <div className={styles.toolbar}>
        <h1 className={styles.title}>SQL</h1>
        <span className={styles.hint}>Read-only SELECT over the warehouse · Ctrl+Enter runs</span>
        <span className={styles.status} data-testid="sql-status" aria-live="polite">
          <Status state={state} elapsedMs={sql.elapsedMs} />
        </span>
      </div>

      <SqlEditor value={draft} onChange={setDraft} onRun={run} tables={TABLES} />

      <div className={styles.actions}>
        <Button variant="primary" onClick={run} disabled={busy || !draft.trim()} data-testid="sql-run">
          Run
        </Button>
        <Button onClick={() => sql.estimateOnly(draft)} disabled={busy || !draft.trim()}>
          Estimate
        </Button>
        {(busy || state.phase === 'confirm') && (
          <Button variant="ghost" onClick={sql.cancel} disabled={state.phase === 'running' && state.cancelling} data-testid="sql-cancel">
            {state.phase === 'running' && state.cancelling ? 'Cancelling…' : 'Cancel'}
          </Button>
        )}
        {limits && (
          <span className={styles.limits} data-testid="sql-limits">
            limited to {count(limits.maxResultRows)} rows and {formatBytes(limits.maxResultBytes)} · {limits.maxExecutionTimeS} s
            {limits.maxRowsToRead > 0 ? ` · ${count(limits.maxRowsToRead)} rows read at most` : ''}
          </span>
        )}
      </div>

      <Content state={state} token={token} onExample={setDraft} onConfirm={sql.runConfirmed} onCancel={sql.cancel} />
    </div>
  );
}

function Status({ state, elapsedMs }: { state: ReturnType<typeof useSqlConsole>['state']; elapsedMs: number }) {
  switch (state.phase) {
    case 'estimating':
      return <>Estimating…</>;
    case 'running':
      return (
        <>
          {state.cancelling ? 'Cancelling' : 'Running'} · {(elapsedMs / 1000).toFixed(1)} s
        </>
      );
    case 'done': {
      const r = state.result;
      return (
        <>
          {count(r.rows.length)} {r.rows.length === 1 ? 'row' : 'rows'}
          {r.truncated ? ` (limited to ${count(r.limits.maxResultRows)})` : ''} · {count(r.elapsedMs)} ms · read {count(r.readRows)} rows, {formatBytes(r.readBytes)}
        </>
      );
    }
    default:
      return null;
  }
}

interface ContentProps {
  state: ReturnType<typeof useSqlConsole>['state'];
  token: string | null;
  onExample: (sql: string) => void;
  onConfirm: () => void;
  onCancel: () => void;
}

function Content({ state, token, onExample, onConfirm, onCancel }: ContentProps) {
  switch (state.phase) {
    case 'idle':
    case 'estimating':
      return (
        <StateMessage title="Query the warehouse with SQL">
          <p>
            One ClickHouse SELECT over {TABLES.join(', ')}. Statements that write, other tables, table functions and SETTINGS are refused; every statement is
            audited. Try:
          </p>
          <ul className={styles.examples}>
            {EXAMPLES.map((e) => (
              <li key={e}>
                <button type="button" className={styles.example} onClick={() => onExample(e)}>
                  {e.replace(/\s+/g, ' ')}
                </button>
              </li>
            ))}
          </ul>
        </StateMessage>
      );
    case 'confirm':
      return <EstimatePanel estimate={state.estimate} onConfirm={onConfirm} onCancel={onCancel} />;
    case 'running':
      return (
        <div className={styles.running} aria-busy="true">
          {state.estimate ? `Reading up to about ${count(state.estimate.rows)} rows…` : 'Running…'}
        </div>
      );
    case 'done':
      return <Result result={state.result} />;
    case 'failed': {
      const e = state.error;
      if (e.unauthorized) {
        return (
          <StateMessage title={token ? 'This token was refused' : 'A token is needed'} tone="attention">
            <p>The SQL console needs a token of role analyst or above.</p>
            <TokenForm rejected={Boolean(token)} />
          </StateMessage>
        );
      }
      const title =
        e.status === 403
          ? 'Your role may not use the SQL console'
          : e.verdict === 'refused'
            ? 'The statement was refused'
            : e.verdict === 'timeout'
              ? 'The statement took too long'
              : e.verdict === 'cancelled'
                ? 'Cancelled'
                : 'The statement failed';
      return (
        <StateMessage title={title} tone={e.verdict === 'cancelled' ? 'neutral' : 'danger'}>
          <p className={styles.errorText} data-testid="sql-error">
            {e.message}
          </p>
        </StateMessage>
      );
    }
  }
}

function EstimatePanel({ estimate, onConfirm, onCancel }: { estimate: SqlEstimate; onConfirm: () => void; onCancel: () => void }) {
  return (
    <div className={styles.estimate} data-testid="sql-estimate" role="status">
      <p>
        ClickHouse estimates this statement reads about <strong>{count(estimate.rows)} rows</strong> ({formatBytes(estimate.bytes)} in {count(estimate.parts)}{' '}
        {estimate.parts === 1 ? 'part' : 'parts'}) of {estimate.tables.join(', ') || 'no table'}.
        {estimate.costly ? ` That is over ${count(estimate.limits.confirmAboveRows)} rows: narrow the time range, or run it anyway.` : ''}
      </p>
      <div className={styles.actions}>
        <Button variant="primary" onClick={onConfirm} data-testid="sql-run-anyway">
          {estimate.costly ? 'Run anyway' : 'Run'}
        </Button>
        <Button variant="ghost" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </div>
  );
}

function Result({ result }: { result: SqlResult }) {
  if (result.rows.length === 0) {
    return (
      <StateMessage title="No rows">
        <p>The statement ran and returned nothing.</p>
      </StateMessage>
    );
  }
  return (
    <>
      {result.truncated && (
        <p className={styles.truncated} data-testid="sql-truncated">
          Only the first {count(result.rows.length)} rows are shown: results are limited to {count(result.limits.maxResultRows)} rows and{' '}
          {formatBytes(result.limits.maxResultBytes)}. Aggregate, or add a LIMIT.
        </p>
      )}
      <SqlResultTable result={result} />
    </>
  );
}
