import { useEffect, useState } from 'react';
import styles from './FilterField.module.css';

/** A labelled text filter applied on Enter or when focus leaves, not on each keystroke. */
export function FilterField({ label, value, onApply, placeholder, width = 140 }: { label: string; value: string; onApply: (v: string) => void; placeholder?: string; width?: number }) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const apply = () => draft.trim() !== value && onApply(draft.trim());
  return (
    <label className={styles.field}>
      <span className={styles.label}>{label}</span>
      <input
        className={styles.input}
        style={{ width }}
        type="text"
        value={draft}
        placeholder={placeholder}
        spellCheck={false}
        autoComplete="off"
        onChange={(e) => setDraft(e.target.value)}
        onBlur={apply}
        onKeyDown={(e) => {
          if (e.key === 'Enter') apply();
          if (e.key === 'Escape') setDraft(value);
        }}
      />
    </label>
  );
}
