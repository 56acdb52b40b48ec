import { cx } from './cx.js';
import styles from './Toggle.module.css';

interface Props {
  checked: boolean;
  onChange: (checked: boolean) => void;
  label: string;
  /** Shown beside the label while on, e.g. a pulsing dot for "live". */
  pulse?: boolean;
  title?: string;
}

export function Toggle({ checked, onChange, label, pulse, title }: Props) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      title={title}
      className={cx(styles.toggle, checked && styles.on)}
      onClick={() => onChange(!checked)}
    >
      <span className={styles.track} aria-hidden="true">
        <span className={styles.thumb} />
      </span>
      <span className={styles.label}>
        {pulse && checked && <span className={styles.pulse} aria-hidden="true" />}
        {label}
      </span>
    </button>
  );
}
