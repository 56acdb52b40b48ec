import { useState } from 'react';
import { Button } from '../../ui/Button.js';
import layout from '../../ui/PageLayout.module.css';
import type { DashboardModel } from './model.js';
import styles from './DashboardsPage.module.css';

/**
 * The model as JSON text. Apply checks what the grid needs to draw; the server checks the whole
 * model on Save and names any bad field.
 */
export function JsonEditor({ model, readOnly, onApply }: { model: DashboardModel; readOnly: boolean; onApply: (m: DashboardModel) => void }) {
  const [text, setText] = useState(() => JSON.stringify(model, null, 2));
  const [error, setError] = useState<string>();
  const apply = () => {
    let next: unknown;
    try {
      next = JSON.parse(text);
    } catch (err) {
      return setError(`Not valid JSON: ${(err as Error).message}`);
    }
    const problem = shapeProblem(next);
    if (problem) return setError(problem);
    setError(undefined);
    // What the server would default, so the grid can draw before the model is saved.
    onApply({ variables: [], refresh: 'off', ...(next as object) } as unknown as DashboardModel);
  };
  return (
    <div className={`${layout.card} ${styles.editor}`}>
      <label htmlFor="dashboard-json" className={layout.muted}>
        Dashboard model (JSON, see DASHBOARDS.md){readOnly ? ': read-only, clone the dashboard to change it' : ''}
      </label>
      <textarea
        id="dashboard-json"
        className={styles.textarea}
        value={text}
        readOnly={readOnly}
        spellCheck={false}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if ((e.ctrlKey || e.metaKey) && e.key === 'Enter' && !readOnly) apply();
        }}
      />
      {!readOnly && (
        <div className={styles.editorActions}>
          <Button variant="primary" onClick={apply} title="Apply (Ctrl+Enter); then Save to keep it">
            Apply
          </Button>
          {error && (
            <span className={layout.errorText} role="alert">
              {error}
            </span>
          )}
        </div>
      )}
    </div>
  );
}

function shapeProblem(m: unknown): string | undefined {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return 'The model must be a JSON object.';
  const o = m as Record<string, unknown>;
  if (typeof o.title !== 'string' || !o.title) return '"title" must be a non-empty string.';
  if (!Array.isArray(o.panels)) return '"panels" must be an array.';
  if (!Array.isArray(o.variables ?? [])) return '"variables" must be an array.';
  if (!o.time || typeof (o.time as { from?: unknown }).from !== 'string') return '"time.from" must be a string like now-1h.';
  for (const [i, p] of (o.panels as unknown[]).entries()) {
    const panel = p as Record<string, unknown> | null;
    if (!panel || typeof panel.id !== 'string' || typeof panel.type !== 'string') return `panels[${i}] needs an "id" and a "type".`;
    const size = panel.size as { w?: unknown; h?: unknown } | undefined;
    if (!size || typeof size.w !== 'number' || typeof size.h !== 'number') return `panels[${i}].size must be { "w": 1-12, "h": 1-12 }.`;
    if (panel.type === 'logs' ? typeof panel.logs !== 'object' : typeof panel.query !== 'string') return `panels[${i}] of type ${panel.type} needs ${panel.type === 'logs' ? '"logs"' : '"query"'}.`;
  }
  return undefined;
}
