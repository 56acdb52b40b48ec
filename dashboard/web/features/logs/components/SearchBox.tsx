import { useEffect, useState, type FormEvent, type KeyboardEvent } from 'react';
import styles from './SearchBox.module.css';

interface Props {
  value: string;
  /** Called on Enter, not on each keystroke: a search is a query to the warehouse. */
  onSearch: (value: string) => void;
}

export function SearchBox({ value, onSearch }: Props) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSearch(draft.trim());
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Escape') setDraft(value);
  };

  return (
    <form className={styles.form} role="search" onSubmit={submit} data-dirty={draft !== value || undefined}>
      <svg className={styles.icon} viewBox="0 0 20 20" aria-hidden="true">
        <circle cx="8.5" cy="8.5" r="5.5" fill="none" stroke="currentColor" strokeWidth="1.8" />
        <path d="M12.6 12.6 17 17" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
      </svg>
      <input
        className={styles.input}
        type="text"
        enterKeyHint="search"
        name="q"
        aria-label="Filter log lines"
        placeholder='Filter by text, e.g. timeout "disk full" — press Enter'
        spellCheck={false}
        autoComplete="off"
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={onKeyDown}
      />
      {draft !== value && <kbd className={styles.hint}>Enter ↵</kbd>}
    </form>
  );
}
