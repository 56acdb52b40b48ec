/**
 * The SQL editor: the shared CodeMirror editor with `@codemirror/lang-sql` (highlighting, keyword
 * and table-name completion). Ctrl+Enter (Cmd+Enter) runs; Enter is a line break, as SQL spans lines.
 */
import { sql, StandardSQL } from '@codemirror/lang-sql';
import { CodeEditor } from '../../../ui/CodeEditor.js';

interface Props {
  value: string;
  onChange: (value: string) => void;
  onRun: () => void;
  /** Table names offered by completion. */
  tables: readonly string[];
}

export function SqlEditor({ value, onChange, onRun, tables }: Props) {
  return (
    <CodeEditor
      value={value}
      onChange={onChange}
      onRun={onRun}
      language={() => [sql({ dialect: StandardSQL, schema: Object.fromEntries(tables.map((t) => [t, []])), upperCaseKeywords: true })]}
      placeholder="SELECT ServiceName, count() FROM otel_logs GROUP BY ServiceName"
      label="SQL statement"
      testId="sql-editor"
      themeOverrides={{
        '.cm-content': { fontFamily: 'var(--font-mono)', padding: '8px 0', caretColor: 'var(--text)', minHeight: '120px' },
        '.cm-scroller': { fontFamily: 'var(--font-mono)', lineHeight: '1.5', maxHeight: '40vh', overflow: 'auto' },
      }}
    />
  );
}
