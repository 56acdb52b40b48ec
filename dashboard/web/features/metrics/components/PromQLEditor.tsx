/**
 * The PromQL editor: the shared CodeMirror editor with `@prometheus-io/codemirror-promql` for
 * highlighting, linting and completion of metric names, labels and values from our own `/api/v1/*`.
 * Enter runs (a query is one line; Shift+Enter still breaks it), and so does Ctrl+Enter.
 */
import { lintKeymap } from '@codemirror/lint';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import { authHeaders } from '../../../ui/auth-token.js';
import { CodeEditor } from '../../../ui/CodeEditor.js';
import styles from './MetricsPage.module.css';

interface Props {
  value: string;
  onChange: (value: string) => void;
  onRun: () => void;
}

function promql(): PromQLExtension {
  return new PromQLExtension().setComplete({
    remote: {
      url: window.location.origin,
      // GET: our API's POST forms are not all there (label values), and GETs are cacheable.
      httpMethod: 'GET',
      fetchFn: (input, init) => {
        const headers = new Headers(init?.headers);
        for (const [k, v] of Object.entries(authHeaders('GET'))) headers.set(k, v);
        return fetch(input, { ...init, headers });
      },
      // Completion is a nicety: a failed lookup (e.g. no metadata endpoint) must not shout.
      httpErrorHandler: () => undefined,
      cache: { maxAge: 60_000 },
    },
  });
}

export function PromQLEditor({ value, onChange, onRun }: Props) {
  return (
    <CodeEditor
      value={value}
      onChange={onChange}
      onRun={onRun}
      language={() => [promql().asExtension()]}
      placeholder='Expression, e.g. rate(node_cpu_seconds_total{mode="user"}[1m])'
      label="PromQL expression"
      testId="promql-editor"
      runOnEnter
      extraKeys={lintKeymap}
      className={styles.promqlEditor}
    />
  );
}
