import { useMemo, type CSSProperties } from 'react';
import { matrixToChart, type ChartData } from '../../ui/chart-data.js';
import { cx } from '../../ui/cx.js';
import layout from '../../ui/PageLayout.module.css';
import { seriesName } from '../../ui/prom-api.js';
import { TimeSeriesChart } from '../../ui/TimeSeriesChart.js';
import { useAsync } from '../../ui/useAsync.js';
import { panelLogs, queryInstant, queryRange } from './api.js';
import { formatterFor, legendOf, substitute, type PanelModel } from './model.js';
import { pointCount } from '../metrics/live/live-window.js';
import { useLivePanel } from './useLivePanel.js';
import styles from './DashboardsPage.module.css';

export const ROW_PX = 80;

interface Props {
  panel: PanelModel;
  vars: Record<string, string>;
  rangeSeconds: number;
  /** Changes on every auto-refresh and on Refresh: the panel reloads. */
  tick: number;
  /** Auto-refresh "live": metric panels load once, then only receive new points. */
  live?: boolean;
}

/** One cell of the grid: its title, then a chart, a figure, a table or log lines, each with its loading and error states. */
export function Panel({ panel, vars, rangeSeconds, tick, live = false }: Props) {
  const style: CSSProperties = { gridColumn: `span ${panel.size.w}`, gridRow: `span ${panel.size.h}` };
  return (
    <article className={styles.panel} style={style} data-panel={panel.id} aria-label={panel.title || panel.id}>
      <header className={styles.panelHeader} title={panel.description}>
        <h2 className={styles.panelTitle}>{panel.title || <span className={layout.muted}>(untitled)</span>}</h2>
      </header>
      <div className={styles.panelBody}>
        {panel.type === 'logs' ? (
          <LogsBody panel={panel} vars={vars} rangeSeconds={rangeSeconds} tick={tick} />
        ) : panel.type === 'table' ? (
          <TableBody panel={panel} vars={vars} tick={tick} />
        ) : (
          <MetricBody panel={panel} vars={vars} rangeSeconds={rangeSeconds} tick={tick} live={live} height={panel.size.h * ROW_PX - 44} />
        )}
      </div>
    </article>
  );
}

type MetricPanel = Extract<PanelModel, { type: 'timeseries' | 'stat' }>;

function MetricBody({ panel, vars, rangeSeconds, tick, live, height }: { panel: MetricPanel; vars: Record<string, string>; rangeSeconds: number; tick: number; live: boolean; height: number }) {
  const query = substitute(panel.query, vars);
  const { value, error, loading } = useAsync(
    (signal) => {
      // Aligned to the step so refreshes draw the same points and the chart does not jitter.
      const step = Math.max(1, Math.ceil(rangeSeconds / 240));
      const end = Math.floor(Date.now() / 1000 / step) * step;
      return queryRange(query, { start: end - rangeSeconds, end, step }, signal).then((data) => ({ data, start: end - rangeSeconds, end }));
    },
    [query, rangeSeconds, tick],
  );
  const format = formatterFor(panel.unit);
  const label = (m: Record<string, string>) => legendOf(panel.legend, m, seriesName);
  const loaded = useMemo(() => (value ? { chart: matrixToChart(value.data, (m) => legendOf(panel.legend, m, seriesName)), start: value.start, end: value.end } : null), [value, panel.legend]);
  const streamed = useLivePanel({ live, query, rangeSeconds, initial: loaded, label });
  if (error && !value) return <PanelError message={error.message} />;
  if (!value || !loaded) return <PanelLoading />;
  const chart: ChartData = streamed?.chart ?? loaded.chart;
  const xWindow: [number, number] = streamed ? [streamed.start, streamed.end] : [value.start, value.end];
  const source = <SourceNote source={value.data.source} resolution={value.data.resolution} warnings={value.data.warnings} loading={loading} />;
  if (chart.series.length === 0)
    return (
      <>
        <p className={styles.empty}>No data in this range</p>
        {source}
      </>
    );
  if (panel.type === 'stat') {
    const last = lastValue(chart);
    return (
      <>
        <div className={styles.stat} data-value={last ?? ''}>
          {last === null ? '–' : format(last)}
        </div>
        {source}
      </>
    );
  }
  return (
    <>
      <div data-live-mode={streamed?.mode} data-points={pointCount(chart)}>
        <TimeSeriesChart data={chart} height={Math.max(60, height - 40)} xRange={xWindow} formatValue={format} label={`Chart of ${panel.title}`} />
      </div>
      {source}
    </>
  );
}

function TableBody({ panel, vars, tick }: { panel: Extract<PanelModel, { type: 'table' }>; vars: Record<string, string>; tick: number }) {
  const query = substitute(panel.query, vars);
  const { value, error } = useAsync((signal) => queryInstant(query, Date.now() / 1000, signal), [query, tick]);
  const format = formatterFor(panel.unit);
  if (error && !value) return <PanelError message={error.message} />;
  if (!value) return <PanelLoading />;
  const rows = value.resultType === 'vector' ? value.result.map((r) => ({ name: legendOf(panel.legend, r.metric, seriesName), v: Number(r.value[1]) })) : value.resultType === 'scalar' ? [{ name: 'scalar', v: Number(value.result[1]) }] : [];
  if (rows.length === 0) return <p className={styles.empty}>No series now</p>;
  return (
    <div className={styles.scroll}>
      <table className={layout.table}>
        <thead>
          <tr>
            <th>Series</th>
            <th className={layout.num}>Value</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.name}>
              <td className={layout.mono}>{r.name}</td>
              <td className={layout.num}>{format(r.v)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function LogsBody({ panel, vars, rangeSeconds, tick }: { panel: Extract<PanelModel, { type: 'logs' }>; vars: Record<string, string>; rangeSeconds: number; tick: number }) {
  const q = {
    q: substitute(panel.logs.q ?? '', vars) || undefined,
    service: substitute(panel.logs.service ?? '', vars) || undefined,
    host: substitute(panel.logs.host ?? '', vars) || undefined,
    limit: panel.logs.limit,
    from: `now-${rangeSeconds}s`,
  };
  const key = JSON.stringify(q);
  const { value, error } = useAsync((signal) => panelLogs(q, signal), [key, tick]);
  if (error && !value) return <PanelError message={error.message} />;
  if (!value) return <PanelLoading />;
  if (value.rows.length === 0) return <p className={styles.empty}>No log lines in this range</p>;
  return (
    <ol className={cx(styles.scroll, styles.logLines)}>
      {value.rows.map((r, i) => (
        <li key={`${r.timeUnixNano}-${i}`}>
          <time className={layout.muted}>{new Date(Number(BigInt(r.timeUnixNano) / 1_000_000n)).toLocaleTimeString()}</time> <span className={styles.logService}>{r.serviceName}</span> {r.body}
        </li>
      ))}
    </ol>
  );
}

function SourceNote({ source, resolution, warnings, loading }: { source: string; resolution?: string | undefined; warnings?: string[] | undefined; loading: boolean }) {
  return (
    <p className={styles.source} title={warnings?.join('\n')}>
      {loading ? 'refreshing… · ' : ''}
      {source === 'warehouse' ? `warehouse (${resolution === 'raw' ? 'raw samples' : `${resolution} rollup`})` : 'real-time store'}
      {warnings?.length ? ' · partial' : ''}
    </p>
  );
}

function PanelLoading() {
  return (
    <p className={styles.empty} aria-busy="true">
      Loading…
    </p>
  );
}

function PanelError({ message }: { message: string }) {
  return (
    <p className={cx(layout.errorText, styles.panelError)} role="alert">
      {message}
    </p>
  );
}

function lastValue(data: ChartData): number | null {
  const values = data.series[0]?.values ?? [];
  for (let i = values.length - 1; i >= 0; i--) if (values[i] != null) return values[i]!;
  return null;
}
