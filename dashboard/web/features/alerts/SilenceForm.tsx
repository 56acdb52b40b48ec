import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Button } from '../../ui/Button.js';
import layout from '../../ui/PageLayout.module.css';
import { createSilence, type Labels, type Matcher } from './api.js';
import styles from './AlertsPage.module.css';

const DURATIONS = [
  { id: '1h', label: '1 hour', ms: 3_600_000 },
  { id: '4h', label: '4 hours', ms: 4 * 3_600_000 },
  { id: '1d', label: '1 day', ms: 86_400_000 },
  { id: '7d', label: '7 days', ms: 7 * 86_400_000 },
  { id: 'resolved', label: 'until resolved', ms: 0 },
] as const;

interface Props {
  /** The alert's labels: each becomes an equality matcher, all ticked. */
  labels: Labels;
  defaultAuthor: string;
  onDone: (silenceId: string) => void;
  onCancel: () => void;
}

/** Creates a silence from an alert: its labels as matchers (untick to widen), a duration, who and why. */
export function SilenceForm({ labels, defaultAuthor, onDone, onCancel }: Props) {
  const [rows, setRows] = useState(() =>
    Object.entries(labels)
      // The alert's name first: it is what people read a silence by.
      .sort(([a], [b]) => (a === 'alertname' ? -1 : b === 'alertname' ? 1 : a.localeCompare(b)))
      .map(([name, value]) => ({ name, value, on: true })),
  );
  const [duration, setDuration] = useState<(typeof DURATIONS)[number]['id']>('1h');
  const [author, setAuthor] = useState(defaultAuthor);
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const first = useRef<HTMLSelectElement>(null);
  useEffect(() => first.current?.focus(), []);

  const matchers: Matcher[] = rows.filter((r) => r.on).map((r) => ({ name: r.name, value: r.value, isRegex: false, isEqual: true }));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (matchers.length === 0) return setError('Keep at least one matcher: a silence without one would match every alert.');
    if (!author.trim()) return setError('Say who creates the silence.');
    setBusy(true);
    setError(undefined);
    const d = DURATIONS.find((x) => x.id === duration)!;
    try {
      const { silenceID } = await createSilence({
        matchers,
        createdBy: author.trim(),
        comment: comment.trim(),
        ...(d.id === 'resolved' ? { untilResolved: true } : { endsAt: new Date(Date.now() + d.ms).toISOString() }),
      });
      onDone(silenceID);
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  return (
    <form className={styles.silenceForm} onSubmit={submit} onKeyDown={(e) => e.key === 'Escape' && onCancel()} aria-label="New silence">
      <fieldset className={styles.matchers}>
        <legend>Matchers (the silence applies to alerts with all of these labels)</legend>
        {rows.map((r, i) => (
          <label key={r.name} className={styles.matcher}>
            <input type="checkbox" checked={r.on} onChange={(e) => setRows(rows.map((x, j) => (j === i ? { ...x, on: e.target.checked } : x)))} />
            <span className={layout.mono}>
              {r.name}=&quot;{r.value}&quot;
            </span>
          </label>
        ))}
      </fieldset>
      <div className={styles.formRow}>
        <label className={layout.field}>
          For
          <select ref={first} className={layout.select} value={duration} onChange={(e) => setDuration(e.target.value as typeof duration)}>
            {DURATIONS.map((d) => (
              <option key={d.id} value={d.id}>
                {d.label}
              </option>
            ))}
          </select>
        </label>
        <label className={layout.field}>
          By
          <input className={layout.input} value={author} onChange={(e) => setAuthor(e.target.value)} required />
        </label>
        <label className={`${layout.field} ${styles.grow}`}>
          Why
          <input className={`${layout.input} ${styles.grow}`} value={comment} onChange={(e) => setComment(e.target.value)} placeholder="e.g. planned maintenance" />
        </label>
        <Button variant="primary" type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create silence'}
        </Button>
        <Button variant="ghost" onClick={onCancel}>
          Cancel
        </Button>
      </div>
      {error && (
        <p className={layout.errorText} role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
