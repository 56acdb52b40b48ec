import { useEffect, useState } from 'react';
import { Button } from '../../../ui/Button.js';
import { StateMessage } from '../../../ui/StateMessage.js';
import { TimeSeriesChart } from '../../../ui/TimeSeriesChart.js';
import { Toggle } from '../../../ui/Toggle.js';
import { TokenForm } from '../../../ui/TokenForm.js';
import { useToken } from '../../../ui/auth-token.js';
import { cx } from '../../../ui/cx.js';
import { useSearchParam } from '../../../ui/useSearchParam.js';
import { DEFAULT_RANGE, RANGES, rangeById } from '../api.js';
import { usePromQuery } from '../hooks/usePromQuery.js';
import { pointCount } from '../live/live-window.js';
import { PromQLEditor } from './PromQLEditor.js';
import { ResultTable } from './ResultTable.js';
import styles from './MetricsPage.module.css';

const EXAMPLES = ['node_load1', '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[1m]))', 'sum by (instance) (rate(node_network_receive_bytes_total[1m]))'];

/** `/metrics`: a PromQL expression over the real-time store, as a chart or a table. The URL holds the query. */
export function MetricsPage() {
  const [q, setQ] = useSearchParam('q');
  const [rangeParam, setRange] = useSearchParam('range');
  const [viewParam, setView] = useSearchParam('view');
  const [draft, setDraft] = useState(q);
  const [live, setLive] = useState(false);
  const [runNonce, setRunNonce] = useState(0);
  const token = useToken();
  const range = rangeById(rangeParam);
  const view = viewParam === 'table' ? 'table' : 'graph';

  // Back and Forward change the URL under the editor: show the query the results are for.
  useEffect(() => setDraft(q), [q]);

  const run = (text = draft) => {
    const next = text.trim();
    if (next === q) setRunNonce((n) => n + 1);
    else setQ(next);
  };
  const { result, loading, error, tookMs, liveMode } = usePromQuery({ query: q, rangeSeconds: range.seconds, view, live, runNonce });

  let content;
  if (error?.unauthorized) {
    content = (
      <StateMessage title={token ? 'This token was refused' : 'A token is needed'} tone="attention">
        <p>This Pharos server requires an API token (viewer role or above).</p>
        <TokenForm rejected={Boolean(token)} />
      </StateMessage>
    );
  } else if (error) {
    content = (
      <StateMessage title="The query failed" tone="danger">
        <p className={styles.errorText} data-testid="query-error">
          {error.message}
        </p>
      </StateMessage>
    );
  } else if (!q) {
    content = (
      <StateMessage title="Query the real-time store">
        <p>Type a PromQL expression and press Enter. Metric names, labels and values complete as you type. Try:</p>
        <ul className={styles.examples}>
          {EXAMPLES.map((e) => (
            <li key={e}>
              <button type="button" className={styles.example} onClick={() => run(e)}>
                {e}
              </button>
            </li>
          ))}
        </ul>
      </StateMessage>
    );
  } else if (!result) {
    content = (
      <div className={styles.loading} aria-busy="true">
        Running query…
      </div>
    );
  } else if (result.kind === 'graph' && result.data.series.length > 0 && view === 'graph') {
    content = (
      <div className={styles.chartBox} data-testid="chart-container" data-points={pointCount(result.data)} data-last-x={result.data.xs.at(-1) ?? ''}>
        <TimeSeriesChart data={result.data} xRange={[result.start, result.end]} height={360} label={`Chart of ${q}`} />
      </div>
    );
  } else if (result.kind === 'table' && view === 'table' && !isEmpty(result.result)) {
    content = (
      <div className={styles.tableBox}>
        <ResultTable result={result.result} />
      </div>
    );
  } else if (result.kind === view) {
    content = (
      <StateMessage title="No data">
        <p>
          The query is valid but matched no series {view === 'graph' ? `in the ${range.label.toLowerCase()}` : 'now'}. Check the metric name and
          label values.
        </p>
      </StateMessage>
    );
  } else {
    content = (
      <div className={styles.loading} aria-busy="true">
        Running query…
      </div>
    );
  }

  const seriesCount = result && !error ? (result.kind === 'graph' ? result.data.series.length : countOf(result.result)) : null;
  return (
    <section className={styles.page} aria-labelledby="metrics-title">
      <div className={styles.toolbar}>
        <h1 id="metrics-title" className={styles.title}>
          Metrics
        </h1>
        <div className={styles.segmented} role="group" aria-label="View">
          {(['graph', 'table'] as const).map((v) => (
            <button key={v} type="button" aria-pressed={view === v} className={cx(styles.segment, view === v && styles.active)} onClick={() => setView(v === 'graph' ? '' : v)}>
              {v === 'graph' ? 'Graph' : 'Table'}
            </button>
          ))}
        </div>
        <label className={styles.rangeLabel}>
          <span className={styles.visuallyHidden}>Time range</span>
          <select className={styles.select} value={range.id} onChange={(e) => setRange(e.target.value === DEFAULT_RANGE ? '' : e.target.value)} disabled={view === 'table'} title={view === 'table' ? 'A table shows the values at this instant' : undefined}>
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <Toggle checked={live} onChange={setLive} label="Live" pulse title={live ? 'New points are added as they arrive: click to stop' : 'Click to add new points as they arrive'} />
        {live && liveMode && (
          <span
            className={styles.liveMode}
            data-testid="live-mode"
            data-mode={liveMode}
            title={liveMode === 'streamed' ? 'The server pushes each new sample of this selector' : 'This expression is computed: only the newest steps are queried every few seconds'}
          >
            live: {liveMode}
          </span>
        )}
        <span className={styles.status} aria-live="polite">
          {loading ? 'running…' : seriesCount !== null ? `${seriesCount} ${seriesCount === 1 ? 'series' : 'series'}${tookMs !== null ? ` · ${tookMs} ms` : ''}` : ''}
        </span>
      </div>

      <div className={styles.queryRow}>
        <PromQLEditor value={draft} onChange={setDraft} onRun={() => run()} />
        <Button variant="primary" onClick={() => run()} disabled={!draft.trim()} title="Run (Enter or Ctrl+Enter)" className={styles.runButton}>
          Run
        </Button>
      </div>

      <div className={styles.card}>{content}</div>
    </section>
  );
}

function isEmpty(r: import('../../../ui/prom-api.js').InstantResult): boolean {
  return (r.resultType === 'vector' || r.resultType === 'matrix') && r.result.length === 0;
}

function countOf(r: import('../../../ui/prom-api.js').InstantResult): number {
  return r.resultType === 'vector' || r.resultType === 'matrix' ? r.result.length : 1;
}
