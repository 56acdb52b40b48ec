import type { ReactNode } from 'react';
import { cx } from './cx.js';
import styles from './StateMessage.module.css';

interface Props {
  title: string;
  tone?: 'neutral' | 'danger' | 'attention';
  icon?: ReactNode;
  children?: ReactNode;
}

/** The centred panel that stands in for content: empty, failed, or locked. */
export function StateMessage({ title, tone = 'neutral', icon, children }: Props) {
  return (
    <div className={cx(styles.panel, styles[tone])} role={tone === 'danger' ? 'alert' : 'status'}>
      {icon && <div className={styles.icon}>{icon}</div>}
      <h2 className={styles.title}>{title}</h2>
      {children && <div className={styles.body}>{children}</div>}
    </div>
  );
}
